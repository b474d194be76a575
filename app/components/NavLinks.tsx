"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

/** The dashboard's pages. */
const LINKS = [
  { href: "/", label: "Overview", match: (path: string) => path === "/" },
  { href: "/projects", label: "Projects & profiles", match: (path: string) => path.startsWith("/projects") },
  { href: "/team", label: "Team", match: (path: string) => path.startsWith("/team") },
  { href: "/cluster", label: "Cluster", match: (path: string) => path.startsWith("/cluster") },
];

export function NavLinks() {
  const pathname = usePathname();
  return (
    <nav aria-label="Main" className="flex flex-col gap-1">
      {LINKS.map((link) => {
        const active = link.match(pathname);
        return (
          <Link
            key={link.href}
            href={link.href}
            aria-current={active ? "page" : undefined}
            className={`rounded-md px-3 py-2 text-sm font-medium transition-colors ${
              active ? "bg-slate-800 text-white" : "text-slate-300 hover:bg-slate-800/60 hover:text-white"
            }`}
          >
            {link.label}
          </Link>
        );
      })}
    </nav>
  );
}
