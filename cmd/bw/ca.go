package main

import (
	"fmt"
	"os"

	"github.com/backworks/bw/ca"
	"github.com/urfave/cli/v2"
)

func caDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "ca-dir", EnvVars: []string{"BW_CA_DIR"}, Usage: "where the local CA lives (default: bw/ca in the user's config directory)"}
}

// openCA opens the local CA, creating it on first use.
func openCA(c *cli.Context) (*ca.CA, error) {
	dir := c.String("ca-dir")
	if dir == "" {
		var err error
		if dir, err = ca.DefaultDir(); err != nil {
			return nil, err
		}
	}
	return ca.Open(dir)
}

func caCommand() *cli.Command {
	return &cli.Command{
		Name:  "ca",
		Usage: "the local certificate authority for HTTPS (bw serve --tls-local)",
		UsageText: "bw ca [init|path|export] [--ca-dir DIR]\n\n" +
			"Examples:\n   bw ca init\n   bw ca export > bw-ca.pem   # import into a trust store\n" +
			"   curl --cacert \"$(bw ca path)\" https://127.0.0.1:3000/",
		Flags: []cli.Flag{caDirFlag()},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) > 1 {
				return usageError("ca: expected one of init, path, export; got %d arguments", len(args))
			}
			sub := ""
			if len(args) == 1 {
				sub = args[0]
			}
			switch sub {
			case "", "init", "path", "export":
			default:
				return usageError("ca: unknown subcommand %q; use init, path or export", sub)
			}
			authority, err := openCA(c)
			if err != nil {
				return err
			}
			switch sub {
			case "", "init":
				fmt.Fprintf(c.App.ErrWriter, "local CA in %s; trust %s/%s to use it\n", authority.Dir(), authority.Dir(), ca.CertFile)
			case "path":
				fmt.Fprintln(c.App.Writer, authority.Dir()+string(os.PathSeparator)+ca.CertFile)
			case "export":
				_, err = c.App.Writer.Write(authority.CertPEM())
			}
			return err
		},
	}
}
