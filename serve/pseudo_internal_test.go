package serve

import (
	"testing"

	"github.com/backworks/bw/store"
)

// net/http drops header names it cannot write, so the wire alone does not
// show whether replay kept a pseudo-header: the reply itself must not hold
// one (handlers and response validation see it before the wire does).
func TestRecordedReplyLeavesOutPseudoHeaders(t *testing.T) {
	ex := &store.Exchange{Response: store.Response{Status: 204, Header: store.Header{
		{Name: ":status", Value: "204"}, {Name: "x-item-version", Value: "3"}, {Name: ":protocol", Value: "websocket"},
	}}}
	rp := recordedReply(ex)
	if len(rp.header) != 1 || rp.header[0] != (store.Field{Name: "X-Item-Version", Value: "3"}) {
		t.Errorf("reply headers = %v, want X-Item-Version only", rp.header)
	}
	if rp.status != 204 {
		t.Errorf("status = %d", rp.status)
	}
}
