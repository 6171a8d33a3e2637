/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as account from "../account.js";
import type * as accountDeletion from "../accountDeletion.js";
import type * as accountEmails from "../accountEmails.js";
import type * as accountExport from "../accountExport.js";
import type * as admin from "../admin.js";
import type * as ai_claude from "../ai/claude.js";
import type * as ai_models from "../ai/models.js";
import type * as ai_prices from "../ai/prices.js";
import type * as auth from "../auth.js";
import type * as authAttempts from "../authAttempts.js";
import type * as authMigrations from "../authMigrations.js";
import type * as careerActions_mutations from "../careerActions/mutations.js";
import type * as careerActions_queries from "../careerActions/queries.js";
import type * as ceilings from "../ceilings.js";
import type * as crons from "../crons.js";
import type * as enrichment_chats from "../enrichment/chats.js";
import type * as enrichment_conversation from "../enrichment/conversation.js";
import type * as enrichment_extraction from "../enrichment/extraction.js";
import type * as enrichment_extractionResult from "../enrichment/extractionResult.js";
import type * as enrichment_history from "../enrichment/history.js";
import type * as enrichment_liveReplyChunks from "../enrichment/liveReplyChunks.js";
import type * as enrichment_liveWriter from "../enrichment/liveWriter.js";
import type * as enrichment_profileContext from "../enrichment/profileContext.js";
import type * as enrichment_promptEscaping from "../enrichment/promptEscaping.js";
import type * as enrichment_prompts from "../enrichment/prompts.js";
import type * as enrichment_queries from "../enrichment/queries.js";
import type * as enrichment_turns from "../enrichment/turns.js";
import type * as http from "../http.js";
import type * as lib_account_claims from "../lib/account/claims.js";
import type * as lib_account_deletion from "../lib/account/deletion.js";
import type * as lib_account_email from "../lib/account/email.js";
import type * as lib_account_emailQueue from "../lib/account/emailQueue.js";
import type * as lib_account_exportFile from "../lib/account/exportFile.js";
import type * as lib_account_passwordProvider from "../lib/account/passwordProvider.js";
import type * as lib_account_passwordRules from "../lib/account/passwordRules.js";
import type * as lib_account_sessions from "../lib/account/sessions.js";
import type * as lib_auth from "../lib/auth.js";
import type * as lib_limits from "../lib/limits.js";
import type * as lib_lists from "../lib/lists.js";
import type * as lib_profileMerge from "../lib/profileMerge.js";
import type * as lib_rateLimits from "../lib/rateLimits.js";
import type * as lib_report_operators from "../lib/report/operators.js";
import type * as lib_report_rollups from "../lib/report/rollups.js";
import type * as lib_spending_ceilings from "../lib/spending/ceilings.js";
import type * as lib_spending_usage from "../lib/spending/usage.js";
import type * as lib_text from "../lib/text.js";
import type * as profiles from "../profiles.js";
import type * as sessionEnding from "../sessionEnding.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  account: typeof account;
  accountDeletion: typeof accountDeletion;
  accountEmails: typeof accountEmails;
  accountExport: typeof accountExport;
  admin: typeof admin;
  "ai/claude": typeof ai_claude;
  "ai/models": typeof ai_models;
  "ai/prices": typeof ai_prices;
  auth: typeof auth;
  authAttempts: typeof authAttempts;
  authMigrations: typeof authMigrations;
  "careerActions/mutations": typeof careerActions_mutations;
  "careerActions/queries": typeof careerActions_queries;
  ceilings: typeof ceilings;
  crons: typeof crons;
  "enrichment/chats": typeof enrichment_chats;
  "enrichment/conversation": typeof enrichment_conversation;
  "enrichment/extraction": typeof enrichment_extraction;
  "enrichment/extractionResult": typeof enrichment_extractionResult;
  "enrichment/history": typeof enrichment_history;
  "enrichment/liveReplyChunks": typeof enrichment_liveReplyChunks;
  "enrichment/liveWriter": typeof enrichment_liveWriter;
  "enrichment/profileContext": typeof enrichment_profileContext;
  "enrichment/promptEscaping": typeof enrichment_promptEscaping;
  "enrichment/prompts": typeof enrichment_prompts;
  "enrichment/queries": typeof enrichment_queries;
  "enrichment/turns": typeof enrichment_turns;
  http: typeof http;
  "lib/account/claims": typeof lib_account_claims;
  "lib/account/deletion": typeof lib_account_deletion;
  "lib/account/email": typeof lib_account_email;
  "lib/account/emailQueue": typeof lib_account_emailQueue;
  "lib/account/exportFile": typeof lib_account_exportFile;
  "lib/account/passwordProvider": typeof lib_account_passwordProvider;
  "lib/account/passwordRules": typeof lib_account_passwordRules;
  "lib/account/sessions": typeof lib_account_sessions;
  "lib/auth": typeof lib_auth;
  "lib/limits": typeof lib_limits;
  "lib/lists": typeof lib_lists;
  "lib/profileMerge": typeof lib_profileMerge;
  "lib/rateLimits": typeof lib_rateLimits;
  "lib/report/operators": typeof lib_report_operators;
  "lib/report/rollups": typeof lib_report_rollups;
  "lib/spending/ceilings": typeof lib_spending_ceilings;
  "lib/spending/usage": typeof lib_spending_usage;
  "lib/text": typeof lib_text;
  profiles: typeof profiles;
  sessionEnding: typeof sessionEnding;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;

export declare const components: {
  rateLimiter: import("@convex-dev/rate-limiter/_generated/component.js").ComponentApi<"rateLimiter">;
  shardedCounter: import("@convex-dev/sharded-counter/_generated/component.js").ComponentApi<"shardedCounter">;
  resend: import("@convex-dev/resend/_generated/component.js").ComponentApi<"resend">;
};
