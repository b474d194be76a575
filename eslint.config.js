import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", "generated/", "next-env.d.ts", "test-results/", "artifacts/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      // Only helper/k8s/ talks to Kubernetes (STYLE.md): everything else calls its intent-named functions.
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "@kubernetes/client-node", message: "Only helper/k8s/ imports @kubernetes/client-node; add an intent-named function there." }] },
      ],
    },
  },
  {
    // The raw API clients stay behind helper/k8s/'s intent functions, and so does reading pod status.
    files: ["helper/**", "app/**"],
    ignores: ["helper/k8s/**", "helper/agent/**", "**/*.test.ts", "**/*.test.tsx"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "MemberExpression[property.name=/^(core|apps|rbac|networking)$/]", message: "Only helper/k8s/ uses the raw Kubernetes API clients; add an intent-named function there." },
        { selector: "MemberExpression[property.name='conditions']", message: "Pod and workload conditions are read in helper/k8s/ only; add a function there that answers the question." },
      ],
    },
  },
  {
    // The dashboard talks to the helper through the contract and the client only.
    files: ["app/**"],
    ignores: ["**/*.test.ts", "**/*.test.tsx"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "@kubernetes/client-node", message: "The dashboard never talks to Kubernetes; ask the helper." }],
          patterns: [{ regex: "(^|/)helper/(?!(protocol|client|shared)/)", message: "The dashboard imports from helper/ only the contract (protocol), the client and shared/." }],
        },
      ],
    },
  },
  {
    // A file does one thing, a function too (STYLE.md): past these, the first lines say why.
    files: ["helper/**", "app/**"],
    ignores: ["**/*.test.ts", "**/*.test.tsx"],
    rules: {
      "max-lines": ["error", { max: 400 }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  { files: ["helper/k8s/**", "test/cluster/**"], rules: { "no-restricted-imports": "off" } },
  {
    // The contract is shared with the browser: zod only.
    files: ["helper/protocol/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["node:*", "socket.io*", "@kubernetes/*", "react*", "next*"], message: "helper/protocol/ holds no Node, DOM, socket or Kubernetes imports." }] }],
    },
  },
);
