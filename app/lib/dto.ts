/** What the dashboard's data functions hand to pages and components (plain, serializable). */
import type { ProfileSettings } from "../../helper/protocol/index.ts";

export interface ProjectDto {
  id: number;
  name: string;
  folderPath: string;
  profileCount: number;
  updatedAt: string;
}

export type ProfileDto = ProfileSettings & {
  id: number;
  projectId: number;
  createdAt: string;
  updatedAt: string;
};
