package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeTLSLocal: bw serve --tls-local answers over HTTPS and HTTP/2 with
// a certificate a client trusting `bw ca export` accepts.
func TestServeTLSLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	code, pemOut, errs := bw(t, "ca", "export", "--ca-dir", dir)
	if code != 0 || !strings.HasPrefix(pemOut, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("bw ca export: exit %d %q %q", code, pemOut, errs)
	}
	if code, out, _ := bw(t, "ca", "path", "--ca-dir", dir); code != 0 || strings.TrimSpace(out) != filepath.Join(dir, "bw-ca.pem") {
		t.Fatalf("bw ca path: %d %q", code, out)
	}
	file := writeServeFile(t, serveYAML)
	addr, stop := startServe(t, "serve", file, "--listen", "127.0.0.1:0", "--tls-local", "--ca-dir", dir)
	defer stop()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(pemOut))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Proto != "HTTP/2.0" || string(body) != `{"hello":"world"}` {
		t.Fatalf("https: %d %s %q", res.StatusCode, res.Proto, body)
	}
}

func TestTLSFlagErrors(t *testing.T) {
	file := writeServeFile(t, serveYAML)
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("junk"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", file, "--tls-cert", junk}, "--tls-cert and --tls-key go together"},
		{[]string{"serve", file, "--tls-local", "--tls-cert", junk, "--tls-key", junk}, "--tls-local issues its own"},
		{[]string{"serve", file, "--tls-cert", junk, "--tls-key", junk}, "junk.pem"},
		{[]string{"ca", "bogus"}, `unknown subcommand "bogus"`},
	} {
		code, _, errs := bw(t, tc.args...)
		if code != 2 || !strings.HasPrefix(errs, "bw: ") || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d %q, want %q", tc.args, code, errs, tc.want)
		}
	}
}
