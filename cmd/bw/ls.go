package main

import "github.com/urfave/cli/v2"

func lsCommand() *cli.Command { return &cli.Command{Name: "ls"} }
func showCommand() *cli.Command { return &cli.Command{Name: "show"} }
func statsCommand() *cli.Command { return &cli.Command{Name: "stats"} }
