/**
 * Makes a password hash for `GATEWAY_USERS` (`passwordHash`).
 *
 *   npm run --silent hash-password          # prompts (input hidden)
 *   printf '%s' "$PASSWORD" | npm run --silent hash-password -- --stdin
 *
 * The password is never taken from argv: it would land in shell history and `ps`.
 */
import { stdin, stdout } from "node:process";
import { createInterface } from "node:readline";
import { hashPassword } from "../src/auth/password.ts";

const MIN_PASSWORD_CHARS = 12;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: stdin, output: stdout, terminal: true });
    // Hide what is typed: print the question once, swallow the echo.
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (text: string) => {
      if (text.includes(question)) write.call(rl, text);
    };
    rl.question(question, (answer) => {
      rl.close();
      stdout.write("\n");
      resolve(answer);
    });
  });
}

async function main(): Promise<void> {
  let password: string;
  if (process.argv.includes("--stdin") || !stdin.isTTY) {
    password = await readStdin();
  } else {
    password = await prompt("Password: ");
    const again = await prompt("Again: ");
    if (again !== password) throw new Error("The passwords differ.");
  }
  if (password.length < MIN_PASSWORD_CHARS) throw new Error(`Use at least ${MIN_PASSWORD_CHARS} characters.`);
  console.log(await hashPassword(password));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
