import type { Command } from "commander";
import { UsageError } from "./errors.js";

/**
 * A bash completion script for the command tree (zsh loads it through bashcompinit):
 * subcommands and options at each level, file names elsewhere.
 */
export function completionScript(program: Command, shell: string): string {
  if (shell !== "bash" && shell !== "zsh") throw new UsageError(`no completion for "${shell}": choose bash or zsh`);
  const levels: string[] = [];
  const walk = (cmd: Command, path: string) => {
    const words = [...cmd.commands.flatMap((sub) => [sub.name(), ...sub.aliases()]), ...cmd.options.flatMap((o) => [o.long, o.short]).filter(Boolean), "--help"];
    if (path === "") words.push(...program.options.flatMap((o) => [o.long, o.short]).filter((w): w is string => Boolean(w)));
    levels.push(`    "${path}") echo "${[...new Set(words)].join(" ")}" ;;`);
    for (const sub of cmd.commands) for (const name of [sub.name(), ...sub.aliases()]) walk(sub, path === "" ? name : `${path} ${name}`);
  };
  walk(program, "");
  const bash = `# asgard completion (${shell}): eval "$(asgard completion ${shell})", e.g. in ~/.${shell}rc
__asgard_words() {
  case "$1" in
${levels.join("\n")}
  esac
}
_asgard() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ " $(__asgard_words "$path") " == *" $word "* && "$word" != -* ]]; then path="\${path:+$path }$word"; fi
  done
  COMPREPLY=($(compgen -W "$(__asgard_words "$path")" -- "$cur"))
}
complete -o default -F _asgard asgard
`;
  return shell === "zsh" ? `autoload -U +X bashcompinit && bashcompinit\n${bash}` : bash;
}
