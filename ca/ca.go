// Package ca is bw's local certificate authority: one key and self-signed
// root kept in a directory, created on first use, that issues short-lived
// certificates for local HTTPS (bw serve --tls-local) and for intercepting
// HTTPS (bw capture --proxy). Clients trust it by importing its root
// certificate ([CA.CertPEM], `bw ca export`).
package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File names inside a CA directory.
const (
	CertFile = "bw-ca.pem"
	KeyFile  = "bw-ca-key.pem"
)

// Lifetimes of the root and of the certificates it issues.
const (
	rootLifetime = 10 * 365 * 24 * time.Hour
	leafLifetime = 90 * 24 * time.Hour
)

// CA is a loaded authority. It is safe for concurrent use.
type CA struct {
	dir  string
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte

	mu    sync.Mutex
	cache map[string]*tls.Certificate // by host
}

// DefaultDir is where the CA lives unless the caller says otherwise: bw/ca
// under the user's configuration directory.
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the CA directory: %w", err)
	}
	return filepath.Join(base, "bw", "ca"), nil
}

// Open loads the CA in dir, creating it first when the directory holds none.
func Open(dir string) (*CA, error) {
	if _, err := os.Stat(filepath.Join(dir, CertFile)); errors.Is(err, fs.ErrNotExist) {
		if err := create(dir); err != nil {
			return nil, err
		}
	}
	return Load(dir)
}

// Load loads the CA in dir, which must exist.
func Load(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("load CA from %s: %s is not a CA certificate", dir, CertFile)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("load CA from %s: unsupported key type", dir)
	}
	return &CA{dir: dir, cert: cert, key: key, pem: certPEM, cache: map[string]*tls.Certificate{}}, nil
}

// create writes a new root key and certificate into dir; the key is
// readable by its owner only.
func create(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"bw local CA"}, CommonName: "bw local CA " + host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(rootLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	// The key first: a certificate without its key would be a broken CA.
	if err := writeNew(filepath.Join(dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, CertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("create CA: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("ca: no randomness: " + err.Error())
	}
	return n
}

// Dir returns the directory the CA was loaded from.
func (c *CA) Dir() string { return c.dir }

// CertPEM returns the root certificate in PEM form, for trust stores.
func (c *CA) CertPEM() []byte { return c.pem }

// Pool returns a certificate pool holding only the root, for clients.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// Issue returns a certificate for host (a DNS name or an IP address),
// signed by the root, from a cache when one was issued before.
func (c *CA) Issue(host string) (*tls.Certificate, error) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert := c.cache[host]; cert != nil && time.Until(cert.Leaf.NotAfter) > 24*time.Hour {
		return cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue a certificate for %s: %w", host, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"bw"}, CommonName: host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("issue a certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue a certificate for %s: %w", host, err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key, Leaf: leaf}
	c.cache[host] = cert
	return cert, nil
}

// ServerConfig returns a TLS configuration that presents a certificate for
// whatever name the client asks for (SNI), fallback when it names none, and
// offers HTTP/2.
func (c *CA) ServerConfig(fallback string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" {
				name = fallback
			}
			return c.Issue(name)
		},
	}
}
