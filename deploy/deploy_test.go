// Package deploy holds the deployment files (examples, alert rules, the
// Grafana dashboard, units and manifests); its test keeps the monitoring
// files in step with the code.
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/shelfsync/shelfsync/config"
	_ "github.com/shelfsync/shelfsync/connectors/all" // the kinds' settings
)

// used strips histogram suffixes so a _bucket query matches its histogram.
func base(name string) string {
	for _, s := range []string{"_bucket", "_count", "_sum"} {
		name = strings.TrimSuffix(name, s)
	}
	return name
}

func TestAlertRulesAreWellFormedAndUseRealMetrics(t *testing.T) {
	live := liveMetrics(t)
	files, err := filepath.Glob("prometheus/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yml") {
			continue
		}
		n += checkRulesFile(t, live, f)
	}
	if n < 5 {
		t.Fatalf("only %d rules", n)
	}
}

// checkRulesFile checks one rules file's alerts and returns how many it has.
func checkRulesFile(t *testing.T, live map[string]map[string]bool, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: rule %+v lacks alert, expr, severity or summary", path, r)
			}
			for _, p := range checkQuery(live, r.Expr) {
				t.Errorf("%s: alert %s: %s", path, r.Alert, p)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s: no rules", path)
	}
	return n
}

// dashboard is the part of the Grafana dashboard the tests read.
type dashboard struct {
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
			Multi bool   `json:"multi"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title       string `json:"title"`
		Type        string `json:"type"`
		FieldConfig struct {
			Defaults struct {
				Unit string `json:"unit"`
			} `json:"defaults"`
			Overrides []struct {
				Properties []struct {
					ID string `json:"id"`
				} `json:"properties"`
			} `json:"overrides"`
		} `json:"fieldConfig"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// dashboards are the Grafana dashboards: operations and merchant.
var dashboards = []string{"grafana/shelfsync.json", "grafana/merchant.json"}

func readDashboard(t *testing.T, path string) dashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDashboardUsesRealMetrics: every query names only metrics, and labels,
// that the daemon's registry really has (liveMetrics).
func TestDashboardUsesRealMetrics(t *testing.T) {
	live := liveMetrics(t)
	for _, path := range dashboards {
		d := readDashboard(t, path)
		n := 0
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				n++
				for _, prob := range checkQuery(live, tg.Expr) {
					t.Errorf("%s: panel %q: %s", path, p.Title, prob)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no queries", path)
		}
	}
}

// aggregated: a query that sums (or takes the max) over replicas.
var aggregated = regexp.MustCompile(`\b(sum|max|min|avg|count)\b`)

// TestDashboardShape: one unit per panel (no override changes it, so an
// axis never mixes units); every shelfsync query follows the replica and
// channel variables and aggregates over replicas; the panels an operator
// (shelfsync.json) and a merchant (merchant.json) need are there.
func TestDashboardShape(t *testing.T) {
	wants := map[string][]string{
		"grafana/shelfsync.json": {`up{job="shelfsync"`, `handler="GET /readyz"`, "shelfsync_webhook_verification_failures_total",
			`shelfsync_job_last_success_timestamp_seconds{instance=~"$instance",channel=~"$channel",task="poll"}`,
			"shelfsync_events_dead_lettered_total", `outcome="dead_lettered"`, "process_cpu_seconds_total", "process_resident_memory_bytes"},
		"grafana/merchant.json": {"shelfsync_orders_placed_total", "shelfsync_units_sold_total", "shelfsync_stock_out_of_stock_skus",
			"shelfsync_stock_below_reorder_point_skus", "shelfsync_oversold_units_total"},
	}
	for _, path := range dashboards {
		all := dashboardShape(t, path)
		if len(wants[path]) == 0 {
			t.Errorf("%s: no panels listed as needed", path)
		}
		for _, want := range wants[path] {
			if !strings.Contains(all, want) {
				t.Errorf("%s: no panel queries %s", path, want)
			}
		}
	}
}

// dashboardShape checks one dashboard's variables and panels and returns
// its queries, one a line. A text panel (no query) needs no unit.
func dashboardShape(t *testing.T, path string) string {
	d := readDashboard(t, path)
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type == "datasource" || (v.Type == "query" && v.Multi)
	}
	for _, v := range []string{"datasource", "instance", "channel"} {
		if !vars[v] {
			t.Errorf("%s: no variable %s (a multi-value query variable)", path, v)
		}
	}
	var all strings.Builder
	for _, p := range d.Panels {
		if p.Type == "row" || p.Type == "text" && len(p.Targets) == 0 {
			continue
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("%s: panel %q has no unit", path, p.Title)
		}
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if prop.ID == "unit" {
					t.Errorf("%s: panel %q overrides the unit of some series: two units on one axis", path, p.Title)
				}
			}
		}
		for _, tg := range p.Targets {
			all.WriteString(tg.Expr + "\n")
			checkPanelQuery(t, path, p.Title, tg.Expr)
		}
	}
	return all.String()
}

func checkPanelQuery(t *testing.T, path, title, expr string) {
	t.Helper()
	if !strings.Contains(expr, "shelfsync_") && !strings.Contains(expr, `job="shelfsync"`) {
		t.Errorf("%s: panel %q: %s is not about shelfsync", path, title, expr)
	}
	if !strings.Contains(expr, `instance=~"$instance"`) {
		t.Errorf("%s: panel %q: %s ignores the instance variable", path, title, expr)
	}
	if strings.Contains(expr, "channel") && !strings.Contains(expr, `channel=~"$channel"`) {
		t.Errorf("%s: panel %q: %s ignores the channel variable", path, title, expr)
	}
	if !strings.HasPrefix(expr, "up{") && !aggregated.MatchString(expr) {
		t.Errorf("%s: panel %q: %s does not aggregate over replicas", path, title, expr)
	}
}

// The Kubernetes manifests are checked as kubeconform -strict would, with
// no network and no schema files: each document is decoded into the
// k8s.io/api type of its apiVersion and kind (an unknown kind or version
// fails), strictly as the API server's strict field validation does
// (sigs.k8s.io/json: an unknown, duplicate or wrongly cased field, or a
// value of the wrong type, fails). kubeconform's schemas also require a
// few fields; the checks after the decoding require more than those (what
// makes the manifests start and fit together).

// k8sTypes are the kinds the manifests may use.
var k8sTypes = map[string]func() any{
	"v1/ConfigMap":                       func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                          func() any { return &corev1.Secret{} },
	"v1/Service":                         func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                 func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":      func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/Ingress":       func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy": func() any { return &networkingv1.NetworkPolicy{} },
}

// decodeManifests strictly decodes every document of a manifest file.
func decodeManifests(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for i, doc := range strings.Split(string(b), "\n---\n") {
		j, err := sigsyaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			t.Fatalf("%s document %d: %v", path, i+1, err)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(j, &tm); err != nil {
			t.Fatalf("%s document %d: %v", path, i+1, err)
		}
		mk, ok := k8sTypes[tm.APIVersion+"/"+tm.Kind]
		if !ok {
			t.Fatalf("%s document %d: unknown apiVersion/kind %s/%s", path, i+1, tm.APIVersion, tm.Kind)
		}
		obj := mk()
		strict, err := k8sjson.UnmarshalStrict(j, obj)
		if err != nil {
			t.Fatalf("%s document %d (%s): %v", path, i+1, tm.Kind, err)
		}
		for _, e := range strict {
			t.Errorf("%s document %d (%s): %v", path, i+1, tm.Kind, e)
		}
		out = append(out, obj)
	}
	return out
}

// TestManifestsDecodeStrictly: every document of every manifest.
func TestManifestsDecodeStrictly(t *testing.T) {
	for _, f := range []string{"kubernetes/shelfsync.yaml", "kubernetes/secret.example.yaml"} {
		t.Run(f, func(t *testing.T) {
			for _, o := range decodeManifests(t, f) {
				meta := objectMeta(o)
				if meta.Name == "" || meta.Labels["app.kubernetes.io/name"] != "shelfsync" {
					t.Errorf("%T without a name or the app label: %+v", o, meta)
				}
			}
		})
	}
}

func objectMeta(o any) metav1.ObjectMeta {
	switch v := o.(type) {
	case *corev1.ConfigMap:
		return v.ObjectMeta
	case *corev1.Secret:
		return v.ObjectMeta
	case *corev1.Service:
		return v.ObjectMeta
	case *appsv1.Deployment:
		return v.ObjectMeta
	case *policyv1.PodDisruptionBudget:
		return v.ObjectMeta
	case *networkingv1.Ingress:
		return v.ObjectMeta
	case *networkingv1.NetworkPolicy:
		return v.ObjectMeta
	}
	return metav1.ObjectMeta{}
}

// manifest is shelfsync.yaml's objects by kind.
type manifest struct {
	cm       *corev1.ConfigMap
	dep      *appsv1.Deployment
	services map[string]*corev1.Service
	pdb      *policyv1.PodDisruptionBudget
	ingress  *networkingv1.Ingress
}

func loadManifest(t *testing.T) manifest {
	t.Helper()
	m := manifest{services: map[string]*corev1.Service{}}
	for _, o := range decodeManifests(t, "kubernetes/shelfsync.yaml") {
		switch v := o.(type) {
		case *corev1.ConfigMap:
			m.cm = v
		case *appsv1.Deployment:
			m.dep = v
		case *corev1.Service:
			m.services[v.Name] = v
		case *policyv1.PodDisruptionBudget:
			m.pdb = v
		case *networkingv1.Ingress:
			m.ingress = v
		case *corev1.Secret:
			t.Error("shelfsync.yaml holds a Secret: applying it would overwrite the real one")
		}
	}
	if m.cm == nil || m.dep == nil || m.pdb == nil || m.ingress == nil || len(m.services) != 2 {
		t.Fatalf("want a ConfigMap, a Deployment, two Services, a PodDisruptionBudget and an Ingress, got %+v", m)
	}
	return m
}

// containerPort is the number of a named port of the shelfsync container.
func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, name)
	return 0
}

// TestDeploymentStarts: what the pod needs to start and be probed: a
// pinned image, secrets the non-root user can read, probes and the
// listeners of the config on the admin port, the webhook port apart.
func TestDeploymentStarts(t *testing.T) {
	m := loadManifest(t)
	pod := m.dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if _, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":"); !ok || tag == "" || strings.HasPrefix(tag, "latest") {
		t.Errorf("image %q is not pinned to a version tag", c.Image)
	}
	if !labelsMatch(m.dep.Spec.Selector.MatchLabels, m.dep.Spec.Template.Labels) {
		t.Errorf("selector %v does not select the template's labels %v", m.dep.Spec.Selector.MatchLabels, m.dep.Spec.Template.Labels)
	}
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Fatal("the pod must run as a non-root user")
	}
	for _, v := range pod.Volumes {
		if v.Secret == nil {
			continue
		}
		mode := int32(0o644)
		if v.Secret.DefaultMode != nil {
			mode = *v.Secret.DefaultMode
		}
		// Secret files are root-owned; fsGroup gives them its group and
		// makes it one of the container's groups.
		groupReads := sc.FSGroup != nil && mode&0o040 != 0
		if !groupReads && mode&0o004 == 0 {
			t.Errorf("secret volume %s (mode %#o, fsGroup %v) is unreadable to uid %d", v.Name, mode, sc.FSGroup, *sc.RunAsUser)
		}
	}
	webhooks, admin := containerPort(t, c, "webhooks"), containerPort(t, c, "admin")
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s probe %+v is not an HTTP GET on the admin port", name, p)
		}
	}
	if a := m.dep.Spec.Template.Annotations; a["prometheus.io/port"] != fmt.Sprint(admin) || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v do not name the admin port %d", a, admin)
	}
	var cfg struct {
		HTTP struct {
			Listen      string `yaml:"listen"`
			AdminListen string `yaml:"admin_listen"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal([]byte(m.cm.Data["shelfsync.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != fmt.Sprintf(":%d", webhooks) || cfg.HTTP.AdminListen != fmt.Sprintf(":%d", admin) {
		t.Errorf("config listens on %q and admin on %q, the container's ports are %d and %d", cfg.HTTP.Listen, cfg.HTTP.AdminListen, webhooks, admin)
	}
	if m.pdb.Spec.MinAvailable == nil || m.pdb.Spec.MinAvailable.IntValue() < 1 || int32(m.pdb.Spec.MinAvailable.IntValue()) >= *m.dep.Spec.Replicas ||
		!labelsMatch(m.pdb.Spec.Selector.MatchLabels, m.dep.Spec.Template.Labels) {
		t.Errorf("PodDisruptionBudget %+v must keep at least one of %d replicas and allow one eviction", m.pdb.Spec, *m.dep.Spec.Replicas)
	}
}

// TestOnlyWebhooksArePublic: the Ingress reaches only the webhook port,
// through a Service that exposes nothing else; the admin port is behind a
// ClusterIP Service.
func TestOnlyWebhooksArePublic(t *testing.T) {
	m := loadManifest(t)
	podPorts := map[string]bool{}
	for _, p := range m.dep.Spec.Template.Spec.Containers[0].Ports {
		podPorts[p.Name] = true
	}
	for name, s := range m.services {
		if !labelsMatch(s.Spec.Selector, m.dep.Spec.Template.Labels) {
			t.Errorf("service %s selects %v, not the pods", name, s.Spec.Selector)
		}
		for _, p := range s.Spec.Ports {
			if !podPorts[p.TargetPort.String()] {
				t.Errorf("service %s targets port %q, which the pod has not", name, p.TargetPort.String())
			}
		}
	}
	for _, r := range m.ingress.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			s := m.services[b.Name]
			if s == nil {
				t.Fatalf("ingress backend %s is no service of the manifest", b.Name)
			}
			if !strings.HasPrefix(p.Path, "/webhooks") {
				t.Errorf("ingress path %q is more than the webhooks", p.Path)
			}
			for _, sp := range s.Spec.Ports {
				if sp.TargetPort.String() != "webhooks" {
					t.Errorf("public service %s also exposes %q", s.Name, sp.TargetPort.String())
				}
			}
		}
	}
	for name, s := range m.services {
		for _, sp := range s.Spec.Ports {
			if sp.TargetPort.String() == "admin" && s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("service %s exposes the admin port as %s", name, s.Spec.Type)
			}
		}
	}
}

// TestScrapeJobIsShelfsync: both ways of scraping the pods name the job
// shelfsync, which the alert rules' up{job="shelfsync"} needs.
func TestScrapeJobIsShelfsync(t *testing.T) {
	m := loadManifest(t)
	b, err := os.ReadFile("kubernetes/servicemonitor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var sm struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			JobLabel string `yaml:"jobLabel"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port     string `yaml:"port"`
				Path     string `yaml:"path"`
				Interval string `yaml:"interval"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&sm); err != nil {
		t.Fatal(err)
	}
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Kind != "ServiceMonitor" || len(sm.Spec.Endpoints) == 0 {
		t.Fatalf("not a ServiceMonitor with endpoints: %+v", sm)
	}
	var selected []*corev1.Service
	for _, s := range m.services {
		if labelsMatch(sm.Spec.Selector.MatchLabels, s.Labels) {
			selected = append(selected, s)
		}
	}
	if len(selected) != 1 {
		t.Fatalf("the ServiceMonitor selects %d services, want the admin one", len(selected))
	}
	s := selected[0]
	if job := s.Labels[sm.Spec.JobLabel]; job != "shelfsync" {
		t.Errorf("the ServiceMonitor's job would be %q (jobLabel %q of service %s), want shelfsync", job, sm.Spec.JobLabel, s.Name)
	}
	for _, e := range sm.Spec.Endpoints {
		if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port && p.TargetPort.String() == "admin" }) || e.Path != "/metrics" {
			t.Errorf("endpoint %+v is not /metrics on the admin port of %s", e, s.Name)
		}
	}
	b, err = os.ReadFile("kubernetes/prometheus-scrape.yml")
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		ScrapeConfigs []struct {
			JobName        string           `yaml:"job_name"`
			RelabelConfigs []map[string]any `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	if len(sc.ScrapeConfigs) != 1 || sc.ScrapeConfigs[0].JobName != "shelfsync" {
		t.Fatalf("prometheus-scrape.yml jobs: %+v, want one named shelfsync", sc.ScrapeConfigs)
	}
	keepsAdmin := slices.ContainsFunc(sc.ScrapeConfigs[0].RelabelConfigs, func(r map[string]any) bool {
		return r["action"] == "keep" && r["regex"] == "admin"
	})
	if !keepsAdmin {
		t.Error("prometheus-scrape.yml does not keep only the admin port")
	}
}

// labelsMatch reports whether every selector label is in labels.
func labelsMatch(selector, labels map[string]string) bool {
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

// composeFile is what the compose checks read of deploy/compose.
type composeFile struct {
	Services map[string]struct {
		Image       string   `yaml:"image"`
		Command     []string `yaml:"command"`
		NetworkMode string   `yaml:"network_mode"`
		Volumes     []string `yaml:"volumes"`
		Build       *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
			Target     string `yaml:"target"`
		} `yaml:"build"`
	} `yaml:"services"`
}

// TestComposeStackFitsTogether: what `docker compose config` cannot see
// (it checks the file's schema; .ci/deploy-check.sh runs it): Redis as
// docs/redis.md says, the fakes from the simulator stage and the daemon
// from the production one in the fakes' network, every mounted file
// present, Prometheus scraping the daemon as job shelfsync with the rules
// loaded, Grafana given the dashboard.
func TestComposeStackFitsTogether(t *testing.T) {
	var c composeFile
	b, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
		if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
			t.Errorf("service %s: image %q is not pinned", name, s.Image)
		}
	}
	redis := strings.Join(c.Services["redis"].Command, " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction"} {
		if !strings.Contains(redis, want) {
			t.Errorf("redis command %q lacks %q", redis, want)
		}
	}
	fakes, daemon := c.Services["fakes"], c.Services["shelfsync"]
	if fakes.Build == nil || fakes.Build.Target != "sim" || fakes.Command[0] != "fakes" {
		t.Errorf("fakes must run `shelfsync fakes` from the sim stage: %+v", fakes)
	}
	if daemon.Build == nil || daemon.Build.Target != "" || daemon.Command[0] != "run" || daemon.NetworkMode != "service:fakes" {
		t.Errorf("the daemon must run the production stage in the fakes' network: %+v", daemon)
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	b, err = os.ReadFile("compose/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prom); err != nil {
		t.Fatal(err)
	}
	if len(prom.ScrapeConfigs) == 0 || prom.ScrapeConfigs[0].JobName != "shelfsync" || prom.ScrapeConfigs[0].StaticConfigs[0].Targets[0] != "fakes:8080" {
		t.Errorf("prometheus must scrape the daemon (fakes:8080) as job shelfsync: %+v", prom.ScrapeConfigs)
	}
	mounts := strings.Join(c.Services["prometheus"].Volumes, " ") + " " + strings.Join(c.Services["grafana"].Volumes, " ")
	for _, want := range []string{"../prometheus/alerts.yml:/etc/prometheus/rules/", "../grafana/shelfsync.json:", "../grafana/merchant.json:", "./grafana/provisioning:/etc/grafana/provisioning"} {
		if !strings.Contains(mounts, want) {
			t.Errorf("mounts %q lack %q", mounts, want)
		}
	}
}

// TestImageCarriesNoSecretsAndChecksHealth: the production stage (the
// last) copies only the binary, checks health with `shelfsync health`,
// and the build context leaves the example secrets out.
func TestImageCarriesNoSecretsAndChecksHealth(t *testing.T) {
	b, err := os.ReadFile("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := strings.Split(string(b), "\nFROM ")
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static-debian12:nonroot AS production") {
		t.Fatalf("the last stage is not the production one: %.60q", final)
	}
	for _, line := range strings.Split(final, "\n") {
		if strings.HasPrefix(line, "COPY") && !strings.Contains(line, "/out/shelfsync /usr/local/bin/shelfsync") {
			t.Errorf("the production stage copies more than the binary: %s", line)
		}
	}
	if !regexp.MustCompile(`(?m)^HEALTHCHECK .*\n\s+CMD \["/usr/local/bin/shelfsync", "health"`).MatchString(final) {
		t.Error("the production stage has no HEALTHCHECK running shelfsync health")
	}
	if !strings.Contains(stages[len(stages)-2], "AS sim") {
		t.Error("no sim stage for the compose stack's fakes")
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^deploy/examples/secrets$`).Match(ignore) || !regexp.MustCompile(`(?m)^\.git$`).Match(ignore) {
		t.Error(".dockerignore must leave out .git and deploy/examples/secrets")
	}
}

// TestConfigMapConfigLoads: the daemon's config in the ConfigMap is one
// shelfsync accepts (strict decoding: a key the daemon does not know, such
// as an http.admin_listen it lacked, would stop the pod at start), with the
// Secret's files in place.
func TestConfigMapConfigLoads(t *testing.T) {
	m := loadManifest(t)
	dir := t.TempDir()
	var ex corev1.Secret
	for _, o := range decodeManifests(t, "kubernetes/secret.example.yaml") {
		ex = *o.(*corev1.Secret)
	}
	for name := range ex.StringData {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("fake-"+name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.ReplaceAll(m.cm.Data["shelfsync.yaml"], "/etc/shelfsync/secrets/", dir+"/")
	path := filepath.Join(dir, "shelfsync.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the ConfigMap's config: %v", err)
	}
	if cfg.HTTP.AdminListen == "" || cfg.HTTP.AdminListen == cfg.HTTP.Listen {
		t.Errorf("admin listener %q, webhooks %q: want two listeners", cfg.HTTP.AdminListen, cfg.HTTP.Listen)
	}
}
