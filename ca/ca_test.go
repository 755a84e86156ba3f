package ca

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenCreatesOnceAndServesHTTP2(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	again, err := Open(dir)
	if err != nil || string(again.CertPEM()) != string(c.CertPEM()) {
		t.Fatalf("second Open made a new CA (%v)", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	})}
	go srv.Serve(tls.NewListener(ln, c.ServerConfig("127.0.0.1")))
	defer srv.Close()

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: again.Pool()}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		res, err := (&http.Client{Transport: tr}).Get("https://" + net.JoinHostPort(host, port) + "/")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "HTTP/2.0" {
			t.Errorf("%s: served over %s, want HTTP/2.0", host, body)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("Load of an empty directory succeeded")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, CertFile), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, KeyFile), []byte("junk"), 0o600)
	if _, err := Open(dir); err == nil {
		t.Fatal("Open of a broken CA succeeded")
	}
}
