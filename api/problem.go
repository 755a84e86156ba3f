package api

import "fmt"

func formatProblem(p Problem) string {
	if p.Pos.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Col, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}
