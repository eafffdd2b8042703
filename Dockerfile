# Landform's image: `landform serve` with what it runs — terraform, in a
# bubblewrap sandbox, and git for terraform's git module sources.
# docker-compose.yml builds it; docs/deploy.md explains the choices.
#
#   docker build -t landform .
#   docker build --build-arg TERRAFORM_VERSION=1.5.7 --build-arg VERSION=v1.2.3 -t landform .
#
# Base images are pinned by tag; pin them by digest too (FROM image:tag@sha256:…)
# for builds that must not change under you.

ARG GO_VERSION=1.26
ARG DEBIAN_RELEASE=bookworm
# Terraform is copied from HashiCorp's own image (its /bin/terraform, a
# static binary), for the platform being built: the image tag is the pin and
# the registry's digest its checksum, with no download URL or sha256 to keep
# in step by hand. 1.5.7 is the version Landform's tests run and the last
# one under the MPL; a later one is a build argument away (its licence is
# the BUSL: check that your use fits it). Landform picks a binary per
# workspace from its required_version; more binaries go in
# terraform.binaries of the server config.
ARG TERRAFORM_VERSION=1.5.7

FROM hashicorp/terraform:${TERRAFORM_VERSION} AS terraform

FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
# The module's dependencies first: a layer that changes only with go.sum.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION is what `landform version` prints (default: "dev").
ARG VERSION=
# CGO is not needed: the SQLite driver (modernc.org/sqlite) is pure Go, so
# the binary is static.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags "-s -w -X main.version=${VERSION}" \
	-o /out/landform ./cmd/landform

FROM debian:${DEBIAN_RELEASE}-slim
# bubblewrap: terraform's sandbox (`sandbox: required`, the default).
# git, openssh-client: terraform's git:: and ssh module sources.
# ca-certificates: TLS to forges, registries and clouds.
# curl: the health checks (and deploy/s3-init.sh in docker-compose.yml).
# tini: PID 1, which reaps what the sandbox leaves and passes signals on.
RUN apt-get update \
	&& apt-get install -y --no-install-recommends bubblewrap ca-certificates curl git openssh-client tini \
	&& rm -rf /var/lib/apt/lists/*
# A fixed UID and GID, so volumes and Kubernetes' runAsUser can name them.
RUN groupadd --system --gid 10001 landform \
	&& useradd --system --uid 10001 --gid landform --home-dir /home/landform --create-home --shell /usr/sbin/nologin landform \
	&& install -d -o landform -g landform -m 0700 /var/lib/landform \
	&& install -d -m 0755 /etc/landform
COPY --from=terraform /bin/terraform /usr/local/bin/terraform
COPY --from=build /out/landform /usr/local/bin/landform

USER landform:landform
WORKDIR /var/lib/landform
# Clones, the provider plugin cache, and (with the default sqlite store and
# fs plans) the database and plans: one volume per container.
VOLUME ["/var/lib/landform"]
EXPOSE 8080
# /healthz answers 200 while the process serves (its JSON says "degraded" and
# why); /readyz is the readiness check. Both on listen: 0.0.0.0:8080, which
# a config with another port must override here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
	CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/landform"]
CMD ["serve", "--config", "/etc/landform/landform.yaml"]
