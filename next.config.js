/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native modules stay outside the server bundle.
  serverExternalPackages: ["better-sqlite3", "@prisma/adapter-better-sqlite3"],
  poweredByHeader: false,
  reactStrictMode: true,
  // The build does its own type-check; `npm test` runs tsc and ESLint separately.
  typescript: { ignoreBuildErrors: false },
};

export default nextConfig;
