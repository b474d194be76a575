import type { Metadata } from "next";
import { SessionPanel } from "./SessionPanel.tsx";

export const metadata: Metadata = { title: "Session" };

export default async function SessionPage({ params }: { params: Promise<{ sessionId: string }> }) {
  const { sessionId } = await params;
  return <SessionPanel sessionId={sessionId} />;
}
