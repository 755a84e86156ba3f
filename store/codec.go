package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The on-disk form of an exchange: a format byte, then fields in a fixed
// order, strings and byte slices as uvarint length + bytes. It is private so
// that it can change with a schema migration.
const exchangeFormat = 1

var errCorrupt = errors.New("corrupt exchange record")

func encodeExchange(buf []byte, ex *Exchange) []byte {
	buf = append(buf, exchangeFormat)
	buf = append(buf, ex.ID[:]...)
	buf = appendString(buf, ex.Session)
	buf = appendString(buf, string(ex.Source))
	buf = binary.AppendVarint(buf, ex.Start.UnixNano())
	buf = binary.AppendVarint(buf, int64(ex.Duration))
	buf = appendString(buf, ex.ClientAddr)
	buf = appendString(buf, ex.ServerAddr)
	r := &ex.Request
	buf = appendString(buf, r.Method)
	buf = appendString(buf, r.Scheme)
	buf = appendString(buf, r.Host)
	buf = appendString(buf, r.Path)
	buf = appendString(buf, r.RawQuery)
	buf = appendString(buf, r.Proto)
	buf = appendHeader(buf, r.Header)
	buf = appendBody(buf, &r.Body)
	s := &ex.Response
	buf = binary.AppendUvarint(buf, uint64(s.Status))
	buf = appendString(buf, s.Reason)
	buf = appendString(buf, s.Proto)
	buf = appendHeader(buf, s.Header)
	buf = appendBody(buf, &s.Body)
	buf = appendString(buf, ex.Error)
	buf = appendBytes(buf, ex.Meta)
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

func appendHeader(buf []byte, h Header) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(h)))
	for _, f := range h {
		buf = appendString(buf, f.Name)
		buf = appendString(buf, f.Value)
	}
	return buf
}

func appendBody(buf []byte, b *Body) []byte {
	var flags byte
	if b.Truncated {
		flags |= 1
	}
	buf = append(buf, flags)
	buf = binary.AppendVarint(buf, b.Size)
	buf = appendString(buf, b.Decoded)
	return appendBytes(buf, b.Data)
}

// decoder reads the fields written by encodeExchange; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func decodeExchange(data []byte, ex *Exchange) error {
	if len(data) < 17 || data[0] != exchangeFormat {
		return errCorrupt
	}
	d := decoder{b: data[1:]}
	copy(ex.ID[:], d.b[:16])
	d.b = d.b[16:]
	ex.Session = d.string()
	ex.Source = Source(d.string())
	ex.Start = time.Unix(0, d.varint())
	ex.Duration = time.Duration(d.varint())
	ex.ClientAddr = d.string()
	ex.ServerAddr = d.string()
	r := &ex.Request
	r.Method = d.string()
	r.Scheme = d.string()
	r.Host = d.string()
	r.Path = d.string()
	r.RawQuery = d.string()
	r.Proto = d.string()
	r.Header = d.header()
	d.body(&r.Body)
	s := &ex.Response
	st := d.uvarint()
	if st > math.MaxInt32 {
		d.fail()
	}
	s.Status = int(st)
	s.Reason = d.string()
	s.Proto = d.string()
	s.Header = d.header()
	d.body(&s.Body)
	ex.Error = d.string()
	ex.Meta = d.bytes()
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return fmt.Errorf("decode exchange %s: %w", ex.ID, d.err)
	}
	return nil
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	v := d.raw()
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *decoder) header() Header {
	n := d.uvarint()
	if n > uint64(len(d.b)/2) { // each field takes at least two bytes
		d.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	h := make(Header, n)
	for i := range h {
		h[i].Name = d.string()
		h[i].Value = d.string()
	}
	return h
}

func (d *decoder) body(b *Body) {
	if len(d.b) == 0 {
		d.fail()
		return
	}
	if d.b[0]&^1 != 0 {
		d.fail()
		return
	}
	b.Truncated = d.b[0]&1 != 0
	d.b = d.b[1:]
	b.Size = d.varint()
	b.Decoded = d.string()
	b.Data = d.bytes()
}
