// Proxmox authentication: `PVEAuthCookie` tickets with a CSRFPreventionToken for writes, and
// `PVEAPIToken=USER@REALM!TOKENID=SECRET` API tokens. Messages are pve-access-control's.
import * as crypto from "crypto";
import type { AccessControl, TokenInfo } from "./access";
import { ApiError, unauthorized } from "./errors";

export interface SandboxUser {
  /** `user@realm` */
  userid: string;
  password?: string;
  /** Groups the user belongs to (created when missing). */
  groups?: string[];
  /**
   * API tokens of this user: token id (the part after `!`) -> secret (a UUID), or the secret with
   * `privsep` (default 1, as PVE creates tokens) and a comment.
   */
  tokens?: Record<string, string | { secret: string; privsep?: 0 | 1 | boolean; comment?: string }>;
}

export interface Identity {
  /**
   * The authenticated user as pve-http-server's auth_handler sets it: `user@realm`, or the token id
   * `user@realm!token` for an API token (never its user). What permission checks and UPIDs use.
   */
  principal: string;
  userid: string;
  viaToken: boolean;
}

/** A SandboxUser's token as stored. */
export function tokenInfo(value: NonNullable<SandboxUser["tokens"]>[string]): TokenInfo {
  if (typeof value === "string") return { secret: value, privsep: 1, expire: 0 };
  return { secret: value.secret, privsep: value.privsep === undefined ? 1 : value.privsep ? 1 : 0, expire: 0, comment: value.comment };
}

// pve-access-control's token_full_regex: user (no whitespace, `:` or `/`) @ realm ! token id (realm syntax).
const REALM = "[A-Za-z][A-Za-z0-9.\\-_]+";
const TOKEN_ID = new RegExp(`^([^\\s:/]+@${REALM})!(${REALM})$`);

const hex8 = (seconds: number) => seconds.toString(16).toUpperCase().padStart(8, "0");

export class Authenticator {
  private readonly secret = crypto.randomBytes(32);

  constructor(private readonly access: AccessControl, private readonly ticketLifetimeMs: number) {}

  private get users() {
    return this.access.users;
  }

  private sign(text: string): string {
    return crypto.createHmac("sha256", this.secret).update(text).digest("base64").replace(/=+$/, "");
  }

  private issue(userid: string): { ticket: string; CSRFPreventionToken: string } {
    const stamp = hex8(Math.floor(Date.now() / 1000));
    const plain = `PVE:${userid}:${stamp}`;
    return { ticket: `${plain}::${this.sign(plain)}`, CSRFPreventionToken: `${stamp}:${this.sign(`${stamp}:${userid}`)}` };
  }

  /** The user a ticket belongs to, or undefined when it is forged, malformed or expired. */
  private ticketUser(ticket: string): string | undefined {
    const match = /^PVE:([^:\s]+):([0-9A-F]{8})::(\S+)$/.exec(ticket);
    if (!match) return undefined;
    const [, userid, stamp, signature] = match;
    const expected = this.sign(`PVE:${userid}:${stamp}`);
    if (signature.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return undefined;
    const ageMs = Date.now() - parseInt(stamp, 16) * 1000;
    if (ageMs < -300_000 || ageMs >= this.ticketLifetimeMs) return undefined;
    return this.users.has(userid) ? userid : undefined;
  }

  /** `POST /access/ticket`: a password, or a still valid ticket (renewal), gets a new ticket. */
  login(username: string, password: string, realm?: string): { ticket: string; CSRFPreventionToken: string; username: string } {
    const userid = username.includes("@") ? username : `${username}@${realm ?? "pam"}`;
    const user = this.users.get(userid);
    const byPassword = user !== undefined && user.password !== undefined && user.password === password && user.enable === 1;
    const byTicket = user !== undefined && this.ticketUser(password) === userid;
    // PVE answers every login failure alike, so user names cannot be probed.
    if (!byPassword && !byTicket) throw new ApiError(401, "authentication failure");
    return { ...this.issue(userid), username: userid };
  }

  /**
   * Who sent the request, as pveproxy's auth_handler decides it: a `PVEAuthCookie` ticket (cookie, or
   * the Authorization header as fallback) wins over a `PVEAPIToken`. `needsCsrf` is true for non-GET
   * requests, which must carry the CSRFPreventionToken when authenticated by ticket.
   */
  authenticate(headers: Record<string, string | string[] | undefined>, needsCsrf: boolean): Identity {
    const authorization = String(headers.authorization ?? "");
    const ticket = authValue(String(headers.cookie ?? ""), "PVEAuthCookie") ?? authValue(authorization, "PVEAuthCookie");
    const apiToken = ticket ? undefined : authValue(authorization, "PVEAPIToken");
    if (apiToken) return this.verifyToken(apiToken);
    if (!ticket) throw unauthorized("No ticket");
    const userid = this.ticketUser(ticket);
    if (!userid) throw unauthorized("permission denied - invalid PVE ticket");
    if (needsCsrf) {
      const token = String(headers.csrfpreventiontoken ?? "");
      if (!this.csrfValid(userid, token)) throw unauthorized("Permission denied - invalid csrf token");
    }
    return { principal: userid, userid, viaToken: false };
  }

  /** PVE::AccessControl::verify_token, with its messages, in its order. */
  private verifyToken(apiToken: string): Identity {
    const pair = /^(.*)=(.*)$/.exec(apiToken);
    if (!pair) throw unauthorized("no tokenid specified");
    const [, tokenid, value] = pair;
    const parts = TOKEN_ID.exec(tokenid);
    if (!parts) throw unauthorized(`'${tokenid}' is not a valid token ID - not able to split into user and token parts`);
    const [, userid, token] = parts;
    const user = this.users.get(userid);
    if (!user) throw unauthorized(`no such user ('${userid}')`);
    if (!user.enable) throw unauthorized(`user '${userid}' is disabled`);
    if (user.expire && user.expire < Date.now() / 1000) throw unauthorized(`user '${userid}' access expired`);
    const info = user.tokens.get(token);
    if (info === undefined) throw unauthorized(`no such token '${token}' for user '${userid}'`);
    if (info.expire && info.expire < Date.now() / 1000) throw unauthorized(`token '${token}' access expired`);
    if (!safeEqual(info.secret, value)) throw unauthorized("invalid token value!");
    return { principal: tokenid, userid, viaToken: true };
  }

  private csrfValid(userid: string, token: string): boolean {
    const match = /^([0-9A-F]{8}):(\S+)$/.exec(token);
    if (!match) return false;
    const ageMs = Date.now() - parseInt(match[1], 16) * 1000;
    if (ageMs < -300_000 || ageMs >= this.ticketLifetimeMs) return false;
    return safeEqual(this.sign(`${match[1]}:${userid}`), match[2]);
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/** PVE::APIServer::Formatter::extract_auth_value: `KEY=value` or `KEY value` after start or whitespace, up to `;`. */
function authValue(header: string, key: string): string | undefined {
  const match = new RegExp(`(?:^|\\s)${key}(?:=| )([^;]*)`).exec(header);
  if (!match || !match[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}
