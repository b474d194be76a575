"use client";

import { buttonClass } from "../../../../../components/ui/buttons.ts";
import type { ProfileDto } from "../../../../../lib/dto.ts";
import { exportProfile } from "../../../../../lib/profileFile.ts";

/** Downloads the profile as `<name>.kbridge.yaml`, for the team's repository. */
export function ExportButton({ profile }: { profile: ProfileDto }) {
  const download = () => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([exportProfile(profile)], { type: "application/yaml" }));
    link.download = `${profile.name}.kbridge.yaml`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  return (
    <button type="button" className={buttonClass.secondary} onClick={download}>
      Export
    </button>
  );
}
