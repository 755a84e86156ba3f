package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// completionFlag is the argument urfave/cli's shell completion appends
// last to ask for candidates instead of running the command.
const completionFlag = "--generate-bash-completion"

// orderArgs puts the arguments in the order urfave/cli v2 can parse: the
// global flags, wherever they were written, go before the command, and
// the command's own flags go before its positional arguments. v2 stops
// parsing flags at the first positional argument, and users write flags
// where they think of them: "bw show ID --db x.db", "bw serve api.yaml
// --listen ADDR", "bw ls -q". Everything after "--" stays positional;
// unknown flags stay with the command, so urfave/cli names them.
func orderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	rest := args[1:]
	complete := rest[len(rest)-1] == completionFlag
	if complete {
		rest = rest[:len(rest)-1]
	}
	globals := flagTable(app.Flags)
	var lead []string
	i := 0
	for i < len(rest) && isFlag(rest[i]) {
		n := max(flagArity(globals, rest[i:]), 1)
		lead = append(lead, rest[i:min(i+n, len(rest))]...)
		i += n
	}
	var cmd *cli.Command
	if i < len(rest) {
		cmd = app.Command(rest[i])
	}
	if cmd == nil {
		return args
	}
	own := flagTable(cmd.Flags)
	own["help"], own["h"] = false, false
	var flags, pos, after []string
	for j := i + 1; j < len(rest); {
		a := rest[j]
		switch {
		case a == "--":
			after = rest[j+1:]
			j = len(rest)
			continue
		case !isFlag(a):
			pos = append(pos, a)
			j++
			continue
		}
		if n := flagArity(own, rest[j:]); n > 0 {
			flags = append(flags, rest[j:min(j+n, len(rest))]...)
			j += n
		} else if n := flagArity(globals, rest[j:]); n > 0 {
			lead = append(lead, rest[j:min(j+n, len(rest))]...)
			j += n
		} else {
			flags = append(flags, a)
			j++
		}
	}
	out := make([]string, 0, len(args)+1)
	out = append(out, args[0])
	out = append(out, lead...)
	out = append(out, rest[i])
	for _, f := range flags {
		if f == "-h" || f == "--help" {
			// urfave/cli takes an argument after --help for a help topic.
			return append(out, f)
		}
	}
	out = append(out, flags...)
	if len(after) > 0 {
		out = append(out, "--")
	}
	out = append(out, pos...)
	out = append(out, after...)
	if complete {
		out = append(out, completionFlag)
	}
	return out
}

// isFlag tells a flag from a positional argument ("-" is stdin or stdout).
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// flagTable maps each flag name and alias to whether it takes a value.
func flagTable(flags []cli.Flag) map[string]bool {
	t := map[string]bool{}
	for _, f := range flags {
		takes := true
		if v, ok := f.(cli.DocGenerationFlag); ok {
			takes = v.TakesValue()
		}
		for _, n := range f.Names() {
			t[n] = takes
		}
	}
	return t
}

// flagArity is how many arguments the flag at args[0] spans by t: 1, 2 for
// "--name value", 0 when t does not know it.
func flagArity(t map[string]bool, args []string) int {
	name, _, inline := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	takes, ok := t[name]
	switch {
	case !ok:
		return 0
	case takes && !inline:
		return 2
	}
	return 1
}
