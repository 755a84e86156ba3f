package serve

import (
	"fmt"
	"time"
)

// LatencyMode says how long replayed answers wait before they are sent.
type LatencyMode uint8

// The latency modes.
const (
	LatencyNone     LatencyMode = iota // answer at once (the default)
	LatencyRecorded                    // wait as long as the recorded response took
	LatencyFixed                       // wait Latency.Fixed before every mock answer
)

// Latency is the --latency setting; the zero value does not wait.
type Latency struct {
	Mode  LatencyMode
	Fixed time.Duration // LatencyFixed
}

// ParseLatency reads "none", "recorded" or a duration such as "250ms".
func ParseLatency(s string) (Latency, error) {
	switch s {
	case "", "none":
		return Latency{}, nil
	case "recorded":
		return Latency{Mode: LatencyRecorded}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return Latency{}, fmt.Errorf("latency %q: want none, recorded or a duration such as 250ms", s)
	}
	return Latency{Mode: LatencyFixed, Fixed: d}, nil
}

// String returns the setting as ParseLatency reads it.
func (l Latency) String() string {
	switch l.Mode {
	case LatencyRecorded:
		return "recorded"
	case LatencyFixed:
		return l.Fixed.String()
	}
	return "none"
}
