export function newHelperKey(): { privateKey: string; publicKey: string };
export function newChallenge(): string;
export function proveHello(privateKeyPem: string, session: string, challenge: string): string;
export function checkHello(publicKeyBase64: string, session: string, challenge: string, signature: unknown): boolean;
export function validPublicKey(publicKeyBase64: string): boolean;
