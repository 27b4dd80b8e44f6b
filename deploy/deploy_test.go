// Package deploy holds the deployment files (Dockerfile at the repository
// root, Kubernetes manifests under kubernetes/). Neither docker nor kubectl
// runs here, so this test reads them: every manifest decodes, the pieces
// refer to each other correctly, the server flags are real ones that
// validate, the example directory file applies, and the image is built with
// the OpenSSL signer to run as non-root.
package deploy

import (
	"context"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/dirfile"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// The few Kubernetes fields checked here (no k8s.io/api dependency).
type (
	object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec       spec              `yaml:"spec"`
		StringData map[string]string `yaml:"stringData"`
	}
	spec struct {
		// Deployment
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		// PodDisruptionBudget
		MinAvailable *int `yaml:"minAvailable"`
		// Service (selector is a plain map there)
		Ports []servicePort `yaml:"ports"`
		// Ingress
		TLS []struct {
			Hosts      []string `yaml:"hosts"`
			SecretName string   `yaml:"secretName"`
		} `yaml:"tls"`
		Rules []struct {
			Host string `yaml:"host"`
			HTTP struct {
				Paths []struct {
					Path    string `yaml:"path"`
					Backend struct {
						Service struct {
							Name string `yaml:"name"`
							Port struct {
								Name string `yaml:"name"`
							} `yaml:"port"`
						} `yaml:"service"`
					} `yaml:"backend"`
				} `yaml:"paths"`
			} `yaml:"http"`
		} `yaml:"rules"`
	}
	// labelSelector is a Deployment's or PDB's {matchLabels: ...} or a
	// Service's plain map.
	labelSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
		plain       map[string]string
	}
	servicePort struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort string `yaml:"targetPort"`
	}
	podSpec struct {
		SecurityContext struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			RunAsUser    int   `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		AutomountServiceAccountToken *bool       `yaml:"automountServiceAccountToken"`
		Containers                   []container `yaml:"containers"`
		Volumes                      []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
			EmptyDir *struct{} `yaml:"emptyDir"`
		} `yaml:"volumes"`
	}
	container struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Env   []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		StartupProbe   *probe `yaml:"startupProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	}
	kustomization struct {
		Kind               string   `yaml:"kind"`
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
	}
)

func (s *labelSelector) UnmarshalYAML(n *yaml.Node) error {
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return err
	}
	if _, ok := m["matchLabels"]; ok {
		type plain labelSelector
		return n.Decode((*plain)(s))
	}
	return n.Decode(&s.plain)
}

func (s labelSelector) labels() map[string]string {
	if s.MatchLabels != nil {
		return s.MatchLabels
	}
	return s.plain
}

func decodeStrict(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesManifests(t *testing.T) {
	dir := "kubernetes"
	var k kustomization
	decodeStrict(t, filepath.Join(dir, "kustomization.yaml"), &k)
	if k.Kind != "Kustomization" || len(k.Resources) == 0 {
		t.Fatalf("kustomization.yaml: kind %q, %d resources", k.Kind, len(k.Resources))
	}
	objs := map[string]object{} // by kind
	for _, r := range k.Resources {
		var o object
		decodeStrict(t, filepath.Join(dir, r), &o)
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Fatalf("%s: apiVersion %q kind %q name %q", r, o.APIVersion, o.Kind, o.Metadata.Name)
		}
		objs[o.Kind] = o
	}
	// Every YAML file is used (or is the example Secret), and parses.
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		base := filepath.Base(f)
		var v any
		decodeStrict(t, f, &v)
		used := slices.Contains(k.Resources, base) || base == "kustomization.yaml" || base == "secret.example.yaml"
		for _, g := range k.ConfigMapGenerator {
			used = used || slices.Contains(g.Files, base)
		}
		if !used {
			t.Errorf("%s is not referenced by kustomization.yaml", base)
		}
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "Ingress", "ServiceAccount"} {
		if _, ok := objs[kind]; !ok {
			t.Fatalf("no %s among the resources", kind)
		}
	}

	dep := objs["Deployment"]
	pod := dep.Spec.Template
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Errorf("Deployment: replicas %d, want 2 or more", deref(dep.Spec.Replicas))
	}
	if !matches(dep.Spec.Selector.labels(), pod.Metadata.Labels) {
		t.Errorf("Deployment: selector %v does not select its pods %v", dep.Spec.Selector.labels(), pod.Metadata.Labels)
	}
	if sc := pod.Spec.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == 0 {
		t.Errorf("pod securityContext: %+v", sc)
	}
	if a := pod.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("the pod mounts a service account token it does not need")
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if sc := c.SecurityContext; sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext: readOnlyRootFilesystem %v, allowPrivilegeEscalation %v, drop %q; want true, false, ALL",
			deref(sc.ReadOnlyRootFilesystem), deref(sc.AllowPrivilegeEscalation), sc.Capabilities.Drop)
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
			t.Errorf("container resources: %s request %q limit %q", r, c.Resources.Requests[r], c.Resources.Limits[r])
		}
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, p := range map[string]*probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[name]
		if p == nil || p.HTTPGet.Path != want || ports[p.HTTPGet.Port] == 0 {
			t.Errorf("%s probe %+v: want GET %s on a declared port", name, p, want)
		}
	}

	// Secrets come from the Secret, never inline; the example Secret has
	// every key the Deployment reads.
	var example object
	decodeStrict(t, filepath.Join(dir, "secret.example.yaml"), &example)
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != example.Metadata.Name || example.StringData[ref.Key] == "" {
				t.Errorf("%s: Secret %s key %s is not in secret.example.yaml", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = "from-secret"
		case e.ValueFrom != nil:
			env[e.Name] = "1073741824" // resourceFieldRef
		default:
			env[e.Name] = e.Value
		}
	}
	for _, name := range []string{"ENTRANCE_MASTER_KEY", "ENTRANCE_DATABASE_URL"} {
		if env[name] != "from-secret" {
			t.Errorf("%s must come from the Secret", name)
		}
	}

	// The args are `entrance serve` flags that load and validate, with the
	// Secret's values in the environment.
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q: want serve first", c.Args)
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	flags := config.Bind(fs)
	if err := fs.Parse(c.Args[1:]); err != nil {
		t.Fatalf("args: %v", err)
	}
	env["ENTRANCE_MASTER_KEY"] = "unchecked-here"
	env["ENTRANCE_DATABASE_URL"] = "postgres://entrance@postgres:5432/entrance?sslmode=verify-full"
	cfg, err := flags.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the Deployment's configuration does not validate: %v", err)
	}
	if !cfg.InsecureHTTP || !strings.HasPrefix(cfg.PublicURL, "https://") || len(cfg.TrustedProxies) == 0 {
		t.Errorf("want --insecure-http behind the Ingress with an https --public-url and --trusted-proxies: %+v", cfg)
	}
	if _, port, _ := strings.Cut(cfg.Listen, ":"); port == "" || ports["http"] == 0 || port != strconv.Itoa(ports["http"]) {
		t.Errorf("--listen %s but the container port http is %d", cfg.Listen, ports["http"])
	}

	// The directory file comes from the generated ConfigMap, mounted where
	// --directory points.
	mounted := ""
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil && len(k.ConfigMapGenerator) > 0 && v.ConfigMap.Name == k.ConfigMapGenerator[0].Name {
			for _, m := range c.VolumeMounts {
				if m.Name == v.Name {
					mounted = m.MountPath
				}
			}
		}
	}
	if mounted == "" || path.Dir(cfg.DirectoryFile) != mounted || !slices.Contains(k.ConfigMapGenerator[0].Files, path.Base(cfg.DirectoryFile)) {
		t.Errorf("--directory %s is not the generated ConfigMap's file (mounted at %q)", cfg.DirectoryFile, mounted)
	}
	if cfg.DataDir != "" {
		writable := false
		for _, m := range c.VolumeMounts {
			writable = writable || m.MountPath == cfg.DataDir
		}
		if !writable {
			t.Errorf("the data directory %s is not a volume (the root file system is read-only)", cfg.DataDir)
		}
	}

	svc := objs["Service"]
	if !matches(svc.Spec.Selector.labels(), pod.Metadata.Labels) {
		t.Errorf("Service selector %v does not select the pods", svc.Spec.Selector.labels())
	}
	if len(svc.Spec.Ports) != 1 || ports[svc.Spec.Ports[0].TargetPort] == 0 {
		t.Errorf("Service ports %+v: targetPort must name a container port", svc.Spec.Ports)
	}
	pdb := objs["PodDisruptionBudget"]
	if !matches(pdb.Spec.Selector.labels(), pod.Metadata.Labels) || pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable < 1 || *pdb.Spec.MinAvailable >= deref(dep.Spec.Replicas) {
		t.Errorf("PodDisruptionBudget: selector %v, minAvailable %d (of %d replicas)", pdb.Spec.Selector.labels(), deref(pdb.Spec.MinAvailable), deref(dep.Spec.Replicas))
	}
	ing := objs["Ingress"]
	public, err := url.Parse(cfg.PublicURL)
	if err != nil {
		t.Fatal(err)
	}
	host := public.Host
	if len(ing.Spec.TLS) != 1 || !slices.Contains(ing.Spec.TLS[0].Hosts, host) || ing.Spec.TLS[0].SecretName == "" {
		t.Errorf("Ingress TLS %+v: want the public URL's host %s", ing.Spec.TLS, host)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != host || len(ing.Spec.Rules[0].HTTP.Paths) == 0 {
		t.Fatalf("Ingress rules %+v", ing.Spec.Rules)
	}
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		if b := p.Backend.Service; b.Name != svc.Metadata.Name || b.Port.Name != svc.Spec.Ports[0].Name {
			t.Errorf("Ingress path %s goes to %s:%s, not the Service", p.Path, b.Name, b.Port.Name)
		}
	}
}

// The example directory file parses and applies.
func TestExampleDirectoryFile(t *testing.T) {
	doc, err := dirfile.Load(filepath.Join("kubernetes", "directory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dirfile.Apply(context.Background(), storetest.NewSQLite(t), doc, dirfile.ApplyOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
}

// The Dockerfile, read rather than built: a Go builder with libssl-dev
// building -tags openssl with cgo, a runtime of the same Debian release,
// a numeric non-root user, and `entrance serve` as the command.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	var user, entrypoint, cmd string
	build := ""
	lines := strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n")
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			from = append(from, rest)
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entrypoint = rest
		case "CMD":
			cmd = rest
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		case "COPY", "WORKDIR", "ENV", "EXPOSE", "ARG", "LABEL":
		default:
			t.Errorf("unexpected instruction %q", l)
		}
	}
	if len(from) != 2 || !regexp.MustCompile(`^golang:1\.26(\.\d+)?-bookworm AS build$`).MatchString(from[0]) ||
		!strings.Contains(from[1], "debian12") {
		t.Errorf("FROM %q: want golang:1.26-bookworm AS build, then a Debian 12 (bookworm, libssl3) runtime", from)
	}
	if !strings.Contains(string(b), "libssl-dev") || !strings.Contains(build, "CGO_ENABLED=1") || !strings.Contains(build, "-tags openssl") {
		t.Errorf("build %q: want cgo, -tags openssl and libssl-dev", build)
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(user) {
		t.Errorf("USER %q: want a numeric non-root uid (runAsNonRoot can check only numbers)", user)
	}
	if entrypoint != `["/usr/local/bin/entrance"]` || cmd != `["serve"]` {
		t.Errorf("ENTRYPOINT %s CMD %s", entrypoint, cmd)
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []string{"go.mod", "go.sum", "cmd", "internal"} {
		if strings.Contains("\n"+string(ignore)+"\n", "\n"+need+"\n") {
			t.Errorf(".dockerignore leaves out %s, which the build needs", need)
		}
	}
}

// deref is *p, or the zero value for a property left out.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
