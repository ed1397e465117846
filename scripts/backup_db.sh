#!/usr/bin/env bash
# The runbook's command line, kept working: backup_db.sh [prod] <label> [--url URL] [--no-restore-hint]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/../bin/dbbackup.js" backup "$@"
