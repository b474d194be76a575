#!/bin/sh
echo "schema-engine binary unavailable offline: use 'npm run db:migrate:dev <name>' (scripts/wasm-migrate.mjs)" >&2
exit 1
