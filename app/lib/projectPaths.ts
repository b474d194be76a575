/** A profile's path (config file, working directory) as the helper needs it: relative ones are in the project's folder. */
export function inProjectFolder(folderPath: string, relativeOrAbsolute: string): string {
  const trimmed = relativeOrAbsolute.trim();
  return trimmed.startsWith("/") ? trimmed : `${folderPath.replace(/\/$/, "")}/${trimmed}`;
}
