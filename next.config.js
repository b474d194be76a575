/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native modules stay outside the server bundle.
  serverExternalPackages: ["better-sqlite3", "@prisma/adapter-better-sqlite3"],
  poweredByHeader: false,
  reactStrictMode: true,
  // `npm test` type-checks the whole tree with `tsc --noEmit` (tests included); a second
  // pass inside every `next build` would only slow `npm start` down.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
