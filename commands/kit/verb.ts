import type { z } from "zod/v3";
import type { ErrorCode } from "../../src/errors.js";
import type { AuditedJob } from "../../src/state/audit.js";
import type { SlackMessage } from "../views/slack/blocks.js";
import type { Style } from "../views/terminal/render.js";
import type { CommandContext } from "./context.js";

/** An option a verb takes: a flag (`--dry-run`) or one with a value (`--reason TEXT`). */
export interface OptionSpec {
  /** The value's placeholder in usage (`TEXT`); absent for a flag. */
  value?: string;
}

/** A request as typed, split into words and options, before the verb makes its arguments of it. */
export interface Words {
  /** The words after the verb's name (every word, for the default verb typed without its name). */
  positionals: string[];
  /** `--name value`, `--name=value` or `--flag` (true). */
  options: Record<string, string | true>;
  /** Every environment name that may be given: staging, prod and the configured ones. */
  envs: ReadonlySet<string>;
  /** Slack's words only: the environments whose backups need a second person. */
  approvalEnvs?: readonly string[];
}

/** How a verb answers in Slack. */
export interface SlackSurface<Args, Result> {
  /**
   * `answer`: run at once and reply to the asker (in the ack when `inAck`, else right after it).
   * `job`: long work through the bot's job runner (one channel message updated in place, status,
   * cancel); a job whose env needs approval waits for a second person first.
   */
  mode: "answer" | "job";
  /** Words typed after /dbbackup become arguments here (default: as from the terminal). */
  fromWords?(words: Words): unknown;
  /** Refuse what Slack may not ask for (a path, a URL) before anything starts: throw a usage error. */
  check?(args: Args): void;
  /** `answer`: the reply is in the ack (quick verbs), else posted privately after it. */
  inAck?: boolean;
  /** Whether everyone in the channel sees the answer (default: only the asker). */
  inChannel?(result: Result): boolean;
  render(result: Result, now: Date, requestedBy: string): SlackMessage;
  /** What a second person is asked to approve, when this request needs one (jobs only). */
  approval?(args: Args, approvalEnvs: readonly string[]): ApprovalAsk | null;
  /** A job's running message and its end, for the runner. */
  job?: SlackJobViews<Args, Result>;
  /** What the bot does once the answer is out (e.g. a new window's first reminder). */
  after?(result: Result, bot: BotHooks): void;
}

export interface SlackJobViews<Args, Result> {
  /** Names the job in status and cancel ("staging backup"). */
  title(args: Args): string;
  env(args: Args): string;
  label(args: Args): string | null;
  /** Its lines in the audit log: `<auditAs>-started`, `-finished`, `-failed`, `-cancelled`. */
  auditAs: AuditedJob;
  /** The verb writes its own started/finished/failed lines (with its own fields); the runner only cancels. */
  auditsItself?: boolean;
  /** Kept in the state's job records, so a bot that dies mid-run is reported by another (backups). */
  recorded?: boolean;
  /** The channel message as the job starts, and as its progress events come in (backups). */
  started(args: Args, requestedBy: string): SlackMessage;
  progress?(args: Args, requestedBy: string, progress: JobProgress): SlackMessage;
  failed(args: Args, requestedBy: string, problem: string, hint: string, code: ErrorCode): SlackMessage;
  /** A message to post in the job message's thread after it succeeded (a restore hint). */
  thread?(result: Result): SlackMessage | null;
  /** Said privately to the asker when the channel could not be posted to. */
  doneText(result: Result): string;
  /** After a success: e.g. a pre-upgrade backup may cover a window. */
  after?(result: Result, bot: BotHooks): void;
}

/** A request that waits for a second person: which env, and what the approver reads. */
export interface ApprovalAsk {
  env: string;
  label: string | null;
  reason: string | null;
  /** Not a backup: what the approver is asked to allow, and the verb's arguments to run once allowed. */
  restore?: { what: string; args: unknown };
}

/** A backup's progress as the engine's events tell it. */
export interface JobProgress {
  step: string;
  tablesDone: number;
  tablesTotal: number | undefined;
  bytes: number;
  elapsedMs: number;
}

/** What a verb may ask of the bot it runs in (nothing that knows Slack's API). */
export interface BotHooks {
  runGuardrailJob(name: "windows" | "retention", trigger?: "after-backup"): void;
}

/** The terminal's side: how the result reads, and the exit code it means. */
export interface TerminalSurface<Result> {
  render(result: Result, style: Style, now: Date): string;
  /** Exit code of a result that came back (default 0; a failed check or verify returns 1). */
  exitCode?(result: Result): number;
  /** After the result is printed: e.g. keep a scratch server up until Ctrl-C (`signal`). */
  afterOutput?(result: Result, signal: AbortSignal): Promise<void>;
}

/**
 * One verb: everything the terminal and Slack need to offer it. The CLI and the bot loop over these;
 * neither knows a verb by name.
 */
export interface Verb<Args, Result> {
  name: string;
  /** Help's order (lower first). */
  order: number;
  /** One line for help. */
  summary: string;
  /** Slack's help line, when it says it differently. */
  slackSummary?: string;
  /** Usage as typed at the terminal (`dbbackup keep <ID> [--reason TEXT]`) and more lines of help. */
  usage: { terminal?: string; slack?: string; details?: string[] };
  options?: Record<string, OptionSpec>;
  /** The verb typed without its name: `dbbackup prod pre-upgrade` is a backup. */
  isDefault?: boolean;
  /** Runs without any configuration (demo, help, version). */
  needsNoConfig?: boolean;
  /** Changes something: the run first cleans up after dead runs. */
  writes?: boolean;
  args: z.ZodType<Args, z.ZodTypeDef, unknown>;
  /** The terminal's words → arguments (checked by `args` after). */
  fromWords(words: Words): unknown;
  run(ctx: CommandContext, args: Args): Promise<Result>;
  terminal: TerminalSurface<Result>;
  slack?: SlackSurface<Args, Result>;
}

/** Any verb, as the registry holds them (its arguments are checked by its own schema at run time). */
export type AnyVerb = Verb<unknown, unknown>;

/** Declares a verb with its types inferred. */
export function defineVerb<Args, Result>(v: Verb<Args, Result>): Verb<Args, Result> {
  return v;
}
