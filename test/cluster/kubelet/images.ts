/**
 * Image → program: the emulator's stand-in for pulling and running images.
 * - `node:<version>` (and `docker.io/library/node:…`) runs this machine's `node` on the
 *   container's command and args, as the image's entrypoint would;
 * - images registered by the caller (the demo app's) map to programs of their own;
 * - anything else fails to pull, as an unknown image does on a real node.
 */
export interface Program {
  command: string;
  args: string[];
}

/** Maps a container's (command, args) to what to run; undefined when the image is unknown. */
export type ImageResolver = (image: string, command: string[], args: string[]) => Program | undefined;

const NODE_IMAGE = /^(?:(?:docker\.io\/)?(?:library\/)?)node(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$/;

export function nodeImage(image: string, command: string[], args: string[]): Program | undefined {
  if (!NODE_IMAGE.test(image)) return undefined;
  // The image's entrypoint runs `node` for a script or flag and anything else as given; its default CMD is `node`.
  const argv = [...command, ...args];
  const [first, ...rest] = argv;
  if (first === undefined) return { command: process.execPath, args: [] };
  if (first === "node" || first === "nodejs") return { command: process.execPath, args: rest };
  if (command.length === 0 && (first.startsWith("-") || first.endsWith(".js") || first.endsWith(".mjs"))) return { command: process.execPath, args: argv };
  return { command: first, args: rest };
}

export function resolveImages(...resolvers: ImageResolver[]): ImageResolver {
  return (image, command, args) => {
    for (const resolve of resolvers) {
      const program = resolve(image, command, args);
      if (program) return program;
    }
    return undefined;
  };
}
