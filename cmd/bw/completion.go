package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask bw itself for candidates (urfave/cli's
// --generate-bash-completion), so they follow every new command and flag;
// an empty answer falls back to file names, which most arguments are.
const bashCompletion = `# bash completion for bw: source <(bw completion bash)
_bw_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local -a req=("${COMP_WORDS[@]:0:COMP_CWORD}")
  [[ $cur == -* ]] && req+=("$cur")
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${req[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _bw_complete bw
`

const zshCompletion = `#compdef bw
# zsh completion for bw: source <(bw completion zsh), or save as _bw in $fpath
_bw() {
  local -a opts
  local cur=${words[CURRENT]}
  if [[ $cur == -* ]]; then
    opts=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[1,CURRENT-1]} $cur --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[1,CURRENT-1]} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ -n ${opts[1]} ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [[ ${funcstack[1]} == _bw ]]; then
  _bw "$@"
else
  compdef _bw bw
fi
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print a shell completion script (bash, zsh or fish)",
		UsageText: "bw completion bash|zsh|fish\n\nExamples:\n" +
			"   source <(bw completion bash)                                   # in ~/.bashrc\n" +
			"   bw completion zsh > \"${fpath[1]}/_bw\"                          # then restart zsh\n" +
			"   bw completion fish > ~/.config/fish/completions/bw.fish",
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 1, "one shell: bash, zsh or fish"); err != nil {
				return err
			}
			var script string
			switch sh := c.Args().First(); sh {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				var err error
				if script, err = c.App.ToFishCompletion(); err != nil {
					return fmt.Errorf("completion: %w", err)
				}
			default:
				return usageError("completion: unknown shell %q; use bash, zsh or fish", sh)
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}
