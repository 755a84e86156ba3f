package main

import "github.com/urfave/cli/v2"

func captureCommand() *cli.Command {
	return &cli.Command{Name: "capture"}
}
