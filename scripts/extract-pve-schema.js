#!/usr/bin/env node
// Writes sandbox/schema/pve-api-subset.json: the endpoints the sandbox implements, cut out of the
// official Proxmox VE API schema, so the repository never reads ../shared at run time.
// Usage: node scripts/extract-pve-schema.js [path/to/pve-apidoc.json]
"use strict";
const fs = require("fs");
const path = require("path");

const source = process.argv[2] || path.join(__dirname, "..", "..", "shared", "proxmox", "pve-apidoc.json");
const target = path.join(__dirname, "..", "sandbox", "schema", "pve-api-subset.json");

// path -> methods the sandbox serves
const ENDPOINTS = {
  "/version": ["GET"],
  "/cluster/nextid": ["GET"],
  "/cluster/resources": ["GET"],
  "/cluster/status": ["GET"],
  "/nodes": ["GET"],
  "/nodes/{node}": ["GET"],
  "/nodes/{node}/status": ["GET"],
  "/nodes/{node}/qemu": ["GET"],
  "/nodes/{node}/network": ["GET"],
  "/nodes/{node}/lxc": ["GET", "POST"],
  "/nodes/{node}/lxc/{vmid}": ["GET", "DELETE"],
  "/nodes/{node}/lxc/{vmid}/clone": ["POST"],
  "/nodes/{node}/lxc/{vmid}/config": ["GET", "PUT"],
  "/nodes/{node}/lxc/{vmid}/pending": ["GET"],
  "/nodes/{node}/lxc/{vmid}/status": ["GET"],
  "/nodes/{node}/lxc/{vmid}/status/current": ["GET"],
  "/nodes/{node}/lxc/{vmid}/status/start": ["POST"],
  "/nodes/{node}/lxc/{vmid}/status/stop": ["POST"],
  "/nodes/{node}/lxc/{vmid}/status/shutdown": ["POST"],
  "/nodes/{node}/lxc/{vmid}/status/reboot": ["POST"],
  "/nodes/{node}/lxc/{vmid}/interfaces": ["GET"],
  "/nodes/{node}/lxc/{vmid}/resize": ["PUT"],
  "/nodes/{node}/lxc/{vmid}/snapshot": ["GET", "POST"],
  "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}": ["GET", "DELETE"],
  "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback": ["POST"],
  "/nodes/{node}/lxc/{vmid}/template": ["POST"],
  "/nodes/{node}/storage": ["GET"],
  "/nodes/{node}/storage/{storage}/content": ["GET"],
  "/nodes/{node}/storage/{storage}/content/{volume}": ["DELETE"],
  "/nodes/{node}/storage/{storage}/oci-registry-pull": ["POST"],
  "/nodes/{node}/storage/{storage}/upload": ["POST"],
  "/nodes/{node}/tasks": ["GET"],
  "/nodes/{node}/tasks/{upid}": ["DELETE"],
  "/nodes/{node}/tasks/{upid}/status": ["GET"],
  "/nodes/{node}/tasks/{upid}/log": ["GET"],
  "/access/ticket": ["GET", "POST"],
  "/access/acl": ["GET", "PUT"],
  "/access/users": ["GET", "POST"],
  "/access/users/{userid}": ["GET", "PUT", "DELETE"],
  "/access/users/{userid}/token": ["GET"],
  "/access/users/{userid}/token/{tokenid}": ["GET", "POST", "PUT", "DELETE"],
  "/access/roles": ["GET", "POST"],
  "/access/roles/{roleid}": ["GET", "PUT", "DELETE"],
  "/access/permissions": ["GET"],
  "/storage": ["GET"],
  "/pools": ["GET"],
};

// Prose is left out (the sandbox needs the rules, and the file stays reviewable). Only string
// values are prose: a *parameter* called `description` is an object and stays.
const PROSE = new Set(["description", "verbose_description"]);
function strip(value) {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) {
      if (PROSE.has(key) && typeof value[key] === "string") continue;
      out[key] = strip(value[key]);
    }
    return out;
  }
  return value;
}

function find(nodes, wanted) {
  for (const node of nodes) {
    if (node.path === wanted) return node;
    const hit = node.children && find(node.children, wanted);
    if (hit) return hit;
  }
  return undefined;
}

const tree = JSON.parse(fs.readFileSync(source, "utf8"));
const endpoints = {};
for (const [apiPath, methods] of Object.entries(ENDPOINTS)) {
  const node = find(tree, apiPath);
  if (!node) throw new Error(`${apiPath} is not in ${source}`);
  endpoints[apiPath] = {};
  for (const method of methods) {
    const info = node.info && node.info[method];
    if (!info) throw new Error(`${method} ${apiPath} is not in ${source}`);
    // `permissions` (the check the sandbox evaluates) and `allowtoken` stay; only prose goes.
    endpoints[apiPath][method] = strip(info);
  }
}

const subset = {
  _origin:
    "Subset of the Proxmox VE 9.1 API schema (pve-docs api-viewer apidoc.json), " +
    "Copyright Proxmox Server Solutions GmbH, AGPL-3.0. Prose descriptions removed. " +
    "Regenerate with: node scripts/extract-pve-schema.js",
  endpoints,
};
fs.writeFileSync(target, JSON.stringify(subset, null, 1) + "\n");
console.error(`wrote ${Object.keys(endpoints).length} paths to ${path.relative(process.cwd(), target)}`);
