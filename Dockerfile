# syntax=docker/dockerfile:1
#
# dbbackup: the Slack bot (and the CLI) with the Postgres tools it needs.
#
#   docker build -t dbbackup .
#   docker run --env-file .env -v dbbackup-backups:/data/backups --stop-timeout 90 dbbackup
#
# Three stages: `pgdg-key` fetches and checks the PostgreSQL apt signing key, `build` compiles
# the TypeScript, `runtime` is what ships (no compiler, no dev dependencies, no curl/gpg).
# Debian bookworm everywhere because apt.postgresql.org publishes every Postgres major for it.

# ---------------------------------------------------------------------------------------------
# The PostgreSQL apt repository's signing key, fetched at build time over HTTPS and accepted
# only if it is the key with the published fingerprint (TLS alone would trust whatever the
# server sends). Only that key is exported, so nothing else that might be in the file ends up
# trusted by apt; gpg exports nothing (and exits 0) for a fingerprint that isn't there, hence
# `test -s`. Done in its own stage so curl and gpg never reach the runtime image.
FROM node:24-bookworm-slim AS pgdg-key
ARG DEBIAN_FRONTEND=noninteractive
# https://www.postgresql.org/download/linux/debian/ — "ACCC4CF8", PostgreSQL Debian Repository
ARG PGDG_KEY_FINGERPRINT=B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl gpg; \
    rm -rf /var/lib/apt/lists/*; \
    curl -fsSL --proto '=https' --tlsv1.2 -o /tmp/pgdg.asc \
        https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    export GNUPGHOME="$(mktemp -d)"; \
    gpg --batch --quiet --import /tmp/pgdg.asc; \
    mkdir -p /out; \
    gpg --batch --export --armor "$PGDG_KEY_FINGERPRINT" > /out/apt.postgresql.org.asc; \
    test -s /out/apt.postgresql.org.asc; \
    rm -rf "$GNUPGHOME" /tmp/pgdg.asc

# ---------------------------------------------------------------------------------------------
# Build: all dependencies (typescript, @types/*), then `npm run build` → dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package*.json change.
# --ignore-scripts: package.json's `prepare` would run tsc now, before the sources are copied
# (we run the build explicitly below), and the @embedded-postgres/* devDependencies' postinstall
# is only for tests; the image uses the apt server packages instead.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# Everything else .dockerignore lets through (node_modules, dist, .env, backups, .git stay out).
COPY . .
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Runtime.
FROM node:24-bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# Server majors to install. pg_dump must be at least the server's major (Supabase runs 15 or
# 17), and restore tests start a throwaway server of the dump's major, which the code looks for
# in /usr/lib/postgresql/<major>/bin. Add 16 here if you run it.
ARG PG_MAJORS="15 17"

COPY --from=pgdg-key /out/apt.postgresql.org.asc /etc/apt/keyrings/apt.postgresql.org.asc

# Client (pg_dump, pg_restore, psql) and server (postgres, initdb) packages of each major from
# apt.postgresql.org: Debian bookworm itself only has 15, and pgdg carries current minors.
# - ca-certificates: apt fetches pgdg over HTTPS; also lets libpq use `sslrootcert=system`.
# - signed-by: the pgdg key is trusted for that one repository only, not for Debian's.
# - create_main_cluster = false: the server packages would otherwise initdb and register a
#   "main" cluster in /var/lib/postgresql at install time; dbbackup never uses one (restore
#   tests initdb their own throwaway servers in a temp dir), so that would be dead weight.
# - --no-install-recommends keeps out sysstat, logrotate and friends; the apt lists are removed
#   in the same layer so they never take space in the image.
# - age (Debian's): off-site copies are encrypted with it before they leave the host.
# - The last loop fails the build if a major's binaries aren't where dbbackup looks for them.
# - setpriv (util-linux, in every Debian image) ties pg_dump, pg_restore and the scratch servers to
#   the bot's life (--pdeathsig): the build fails if it can't.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates; \
    . /etc/os-release; \
    echo "deb [signed-by=/etc/apt/keyrings/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends postgresql-common; \
    sed -ri 's/#(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf; \
    grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; \
    packages=""; \
    for major in $PG_MAJORS; do packages="$packages postgresql-client-$major postgresql-$major"; done; \
    apt-get install -y --no-install-recommends $packages age tini; \
    rm -rf /var/lib/apt/lists/*; \
    for major in $PG_MAJORS; do \
        for tool in pg_dump pg_restore initdb postgres; do \
            "/usr/lib/postgresql/$major/bin/$tool" --version; \
        done; \
    done; \
    age --version; \
    tini --version; \
    setpriv --pdeathsig=KILL -- true

# A fixed non-root user. Postgres refuses to run as root, so running the whole bot as an
# ordinary user is also what lets restore tests start their scratch servers (as root, dbbackup
# would have to switch to the `postgres` user for them). uid/gid 10001: above the range of
# users in the base image and on typical hosts, so it matches nobody by accident. It has a home
# (npm writes its logs under ~/.npm) and no login shell.
# /data/backups is created and owned here, *before* VOLUME: a new named volume is initialised
# from this directory, so it starts out owned by dbbackup with mode 0700 (backups hold every row).
RUN set -eux; \
    groupadd --system --gid 10001 dbbackup; \
    useradd --system --uid 10001 --gid dbbackup --create-home --home-dir /home/dbbackup \
        --shell /usr/sbin/nologin dbbackup; \
    install -d -o dbbackup -g dbbackup -m 0700 /data/backups

WORKDIR /app

# NODE_ENV=production: production behaviour in libraries (and npm omits dev dependencies).
# DBBACKUP_DIR: backups, locks, logs and state go to the volume, not into the image.
# NPM_CONFIG_UPDATE_NOTIFIER=false: `npm start` must not phone the registry on every start.
# NPM_CONFIG_SCRIPT_SHELL=/bin/bash: npm runs the start script through a shell. Debian's
#   /bin/sh (dash) stays in between as the parent of node, and when `docker stop` sends SIGTERM,
#   npm forwards it to that shell, which dies without passing it on: node would never hear it
#   and couldn't finish or cancel running dumps. bash execs a lone command instead, so the
#   signal reaches node and npm exits with node's exit code. (Keep the start script a single
#   `node …` command for this to hold.)
ENV NODE_ENV=production \
    DBBACKUP_DIR=/data/backups \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_SCRIPT_SHELL=/bin/bash

# Production dependencies only, exactly as locked. --ignore-scripts because `prepare` runs tsc,
# which is a dev dependency and isn't here; the compiled output comes from the build stage.
# None of the production dependencies needs an install script.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY bin ./bin
# The demo's sample database (`npx dbbackup demo` inside the container).
COPY src/demo/supabase-platform.sql src/demo/supabase-sample.sql ./src/demo/
COPY --from=build /app/dist ./dist
# The app files stay owned by root: the bot can read its code but not change it.

USER 10001:10001

# Backups (and the bot's state next to them) outlive the container.
VOLUME /data/backups

# HTTP mode only (no SLACK_APP_TOKEN): Slack POSTs to /slack/events on PORT (default 3000).
# Socket Mode, the default, needs no inbound port at all.
EXPOSE 3000

# Doesn't touch Slack or a database, so it can't flap on their outages and needs no secrets:
# every installed major's pg_dump runs, the backups volume is writable by this user (a host
# bind mount owned by root is the usual mistake), and node loads the compiled CLI. A bad token
# makes the bot exit non-zero at start; use a restart policy for that.
HEALTHCHECK --interval=1m --timeout=15s --start-period=30s --retries=3 \
    CMD for d in /usr/lib/postgresql/*/bin; do "$d/pg_dump" --version >/dev/null || exit 1; done \
        && test -w "$DBBACKUP_DIR" && node /app/bin/dbbackup.js --version >/dev/null || exit 1

# docker stop sends SIGTERM (the default STOPSIGNAL): the bot stops taking work and finishes or
# cancels running dumps within DBBACKUP_SHUTDOWN_GRACE. Docker's own stop timeout is 10 s, so
# give it more: `docker run --stop-timeout 90` / compose `stop_grace_period: 90s`.
# tini is PID 1: it passes SIGTERM to Node and reaps whatever dies orphaned; Node runs the bot
# directly (npm as PID 1 would sit between them and print its own errors on the way out).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/dbbackup-bot.js"]
