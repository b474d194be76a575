// The real "server-only" throws outside React server bundles; tests import data functions directly.
export {};
