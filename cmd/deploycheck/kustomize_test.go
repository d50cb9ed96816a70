package main

// The Kubernetes base (and the example overlay) rendered by kustomize's own
// library with its default, root-only load restrictions, every object decoded
// strictly into its official Go type, and then the references between them
// followed the way the API server, the kubelet, the prometheus-operator and
// Grafana's sidecar would follow them.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	k8sOverlay       = "deploy/kubernetes/overlays/sharded"
	containerName    = "mail-exporter"
	kubectlApplyMax  = 262144 // bytes: client-side apply's last-applied annotation limit
	overlayReplicas  = 4
	overlayNamespace = "monitoring"
)

// rendered is one kustomization's output, decoded.
type rendered struct {
	dir        string
	sets       []*appsv1.StatefulSet
	services   map[string]*corev1.Service
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	accounts   map[string]*corev1.ServiceAccount
	monitors   []*monitoringv1.ServiceMonitor
	rules      []*monitoringv1.PrometheusRule
	namespaces map[string]string // kind/name -> namespace
}

// render runs kustomize on a directory of the repository and decodes every
// object strictly. An object of a kind not listed here fails the test, so a
// new resource needs its type added.
func render(t *testing.T, rel string) *rendered {
	t.Helper()
	opts := krusty.MakeDefaultOptions() // load restrictor: root only
	rm, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), repoPath(rel))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", rel, err)
	}
	r := &rendered{dir: rel, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, accounts: map[string]*corev1.ServiceAccount{}, namespaces: map[string]string{}}
	for _, res := range rm.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		gvk := res.GetGvk()
		id := fmt.Sprintf("%s %s/%s", rel, gvk.Kind, res.GetName())
		var obj any
		switch gvk.ApiVersion() + "/" + gvk.Kind {
		case "v1/ServiceAccount":
			o := &corev1.ServiceAccount{}
			obj, r.accounts[res.GetName()] = o, o
		case "v1/Service":
			o := &corev1.Service{}
			obj, r.services[res.GetName()] = o, o
		case "v1/ConfigMap":
			o := &corev1.ConfigMap{}
			obj, r.configMaps[res.GetName()] = o, o
		case "v1/Secret":
			o := &corev1.Secret{}
			obj, r.secrets[res.GetName()] = o, o
		case "apps/v1/StatefulSet":
			o := &appsv1.StatefulSet{}
			obj, r.sets = o, append(r.sets, o)
		case "monitoring.coreos.com/v1/ServiceMonitor":
			o := &monitoringv1.ServiceMonitor{}
			obj, r.monitors = o, append(r.monitors, o)
		case "monitoring.coreos.com/v1/PrometheusRule":
			o := &monitoringv1.PrometheusRule{}
			obj, r.rules = o, append(r.rules, o)
		default:
			t.Errorf("%s: kind %s is not checked by deploycheck: add its Go type to render()", id, gvk)
			continue
		}
		if err := decodeStrict(y, obj); err != nil {
			t.Errorf("%s: strict decoding into %T: %v", id, obj, err)
			continue
		}
		meta := reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta").Addr().Interface().(*metav1.ObjectMeta)
		checkMeta(t, id, meta)
		r.namespaces[gvk.Kind+"/"+res.GetName()] = meta.Namespace
	}
	if t.Failed() {
		t.FailNow()
	}
	return r
}

// checkMeta applies the API server's rules for names and labels.
func checkMeta(t *testing.T, id string, m *metav1.ObjectMeta) {
	t.Helper()
	for _, e := range validation.IsDNS1123Subdomain(m.Name) {
		t.Errorf("%s: name: %s", id, e)
	}
	for k, v := range m.Labels {
		for _, e := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label key %q: %s", id, k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s value %q: %s", id, k, v, e)
		}
	}
}

func TestKustomizeBase(t *testing.T) {
	r := render(t, k8sBase)
	checkWorkload(t, r, 2)
	checkPrometheusRule(t, r)
	checkDashboards(t, r)
	for obj, ns := range r.namespaces {
		if ns != "" {
			t.Errorf("%s has namespace %q: the base leaves the namespace to overlays", obj, ns)
		}
	}
}

func TestKustomizeShardedOverlay(t *testing.T) {
	r := render(t, k8sOverlay)
	checkWorkload(t, r, overlayReplicas)
	for obj, ns := range r.namespaces {
		if ns != overlayNamespace {
			t.Errorf("%s: namespace %q, want %q", obj, ns, overlayNamespace)
		}
	}
}

// statefulSet returns the one StatefulSet and its exporter container.
func statefulSet(t *testing.T, r *rendered) (*appsv1.StatefulSet, *corev1.Container) {
	t.Helper()
	if len(r.sets) != 1 {
		t.Fatalf("%s: %d StatefulSets, want 1", r.dir, len(r.sets))
	}
	s := r.sets[0]
	for i := range s.Spec.Template.Spec.Containers {
		if c := &s.Spec.Template.Spec.Containers[i]; c.Name == containerName {
			return s, c
		}
	}
	t.Fatalf("%s: StatefulSet %s has no container %s", r.dir, s.Name, containerName)
	return nil, nil
}

var ordinalRE = regexp.MustCompile(`-(\d+)$`) // as cmd/mail_exporter reads --shard.index

// podArgs expands the container's args for the pod with the given ordinal
// the way the kubelet does: $(VAR) from env values and the downward API.
func podArgs(t *testing.T, s *appsv1.StatefulSet, c *corev1.Container, ordinal int) []string {
	t.Helper()
	pod := fmt.Sprintf("%s-%d", s.Name, ordinal)
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = pod
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.labels['apps.kubernetes.io/pod-index']":
			env[e.Name] = strconv.Itoa(ordinal)
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	var out []string
	for _, a := range c.Args {
		out = append(out, ref.ReplaceAllStringFunc(a, func(m string) string {
			name := ref.FindStringSubmatch(m)[1]
			v, ok := env[name]
			if !ok {
				t.Errorf("arg %q refers to $(%s), which the container's env does not define", a, name)
			}
			return v
		}))
	}
	return out
}

func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// checkWorkload follows the StatefulSet's references and checks the shard
// flags of every pod against the replica count.
func checkWorkload(t *testing.T, r *rendered, replicas int) {
	s, c := statefulSet(t, r)
	pod := s.Spec.Template.Spec

	if s.Spec.Replicas == nil || int(*s.Spec.Replicas) != replicas {
		t.Fatalf("%s: replicas %v, want %d", r.dir, s.Spec.Replicas, replicas)
	}
	for i := 0; i < replicas; i++ {
		args := podArgs(t, s, c, i)
		count, ok1 := flagValue(args, "shard.count")
		index, ok2 := flagValue(args, "shard.index")
		if !ok1 || !ok2 {
			t.Fatalf("%s: pod %d args %v lack --shard.count/--shard.index", r.dir, i, args)
		}
		if count != strconv.Itoa(replicas) {
			t.Errorf("%s: pod %d runs --shard.count=%s with %d replicas", r.dir, i, count, replicas)
		}
		got := index
		if m := ordinalRE.FindStringSubmatch(index); m != nil {
			got = m[1]
		}
		if got != strconv.Itoa(i) {
			t.Errorf("%s: pod %d runs --shard.index=%s (shard %s)", r.dir, i, index, got)
		}
	}

	// Selectors.
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(s.Spec.Template.Labels)) {
		t.Errorf("%s: StatefulSet selector %v does not select its pod template %v (%v)", r.dir, s.Spec.Selector, s.Spec.Template.Labels, err)
	}
	svc, ok := r.services[s.Spec.ServiceName]
	if !ok {
		t.Fatalf("%s: serviceName %q is not a rendered Service", r.dir, s.Spec.ServiceName)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("%s: Service %s is not headless: each shard must be scraped on its own", r.dir, svc.Name)
	}
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(s.Spec.Template.Labels)) {
		t.Errorf("%s: Service %s selector %v does not select the pods %v", r.dir, svc.Name, svc.Spec.Selector, s.Spec.Template.Labels)
	}

	// Ports: the container's, the Service's, the probes', the ServiceMonitor's.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
		for _, e := range validation.IsValidPortName(p.Name) {
			t.Errorf("%s: port name %q: %s", r.dir, p.Name, e)
		}
	}
	if ports["http"] != 9745 {
		t.Errorf("%s: container port http is %d, want 9745 (the exporter's default and the image's EXPOSE)", r.dir, ports["http"])
	}
	if v, _ := flagValue(c.Args, "web.listen-address"); v != ":9745" {
		t.Errorf("%s: --web.listen-address=%q, want :9745", r.dir, v)
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		if _, ok := ports[p.TargetPort.String()]; !ok && p.TargetPort.IntValue() != int(ports["http"]) {
			t.Errorf("%s: Service port %s targets %s, which the container does not have", r.dir, p.Name, p.TargetPort.String())
		}
	}
	for name, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", r.dir, name)
			continue
		}
		if _, ok := ports[probe.HTTPGet.Port.String()]; !ok {
			t.Errorf("%s: %s probe port %s is not a container port", r.dir, name, probe.HTTPGet.Port.String())
		}
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/-/ready" {
		t.Errorf("%s: readiness probe path %s, want /-/ready", r.dir, c.ReadinessProbe.HTTPGet.Path)
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Errorf("%s: liveness probe path %s, want /-/healthy", r.dir, c.LivenessProbe.HTTPGet.Path)
	}
	if len(r.monitors) != 1 {
		t.Fatalf("%s: %d ServiceMonitors, want 1", r.dir, len(r.monitors))
	}
	sm := r.monitors[0]
	smSel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || smSel.Empty() || !smSel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("%s: ServiceMonitor selector %v does not select Service %s %v", r.dir, sm.Spec.Selector, svc.Name, svc.Labels)
	}
	if len(sm.Spec.Endpoints) == 0 {
		t.Errorf("%s: ServiceMonitor has no endpoints", r.dir)
	}
	job := svc.Name // the operator's default job name
	if sm.Spec.JobLabel != "" {
		job = svc.Labels[sm.Spec.JobLabel]
	}
	for _, want := range ruleJobs(t) {
		if job != want {
			t.Errorf("%s: the ServiceMonitor's series get job=%q, the rules in %s expect job=%q", r.dir, job, rulesDir, want)
		}
	}
	for _, ep := range sm.Spec.Endpoints {
		if !svcPorts[ep.Port] {
			t.Errorf("%s: ServiceMonitor endpoint port %q is not a Service port", r.dir, ep.Port)
		}
	}

	// No root, nothing writable, no API token.
	sc, csc := pod.SecurityContext, c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || strconv.FormatInt(*sc.RunAsUser, 10) != imageUID {
		t.Errorf("%s: pod must run as non-root user %s (the image's USER)", r.dir, imageUID)
	}
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.Capabilities == nil || !reflect.DeepEqual(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: container must have a read-only root, no privilege escalation and no capabilities", r.dir)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the pod mounts a service account token it does not need", r.dir)
	}
	if _, ok := r.accounts[pod.ServiceAccountName]; !ok {
		t.Errorf("%s: service account %q is not rendered", r.dir, pod.ServiceAccountName)
	}

	// Volumes: what the container sees, file by file.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	files := map[string][]byte{} // path in the container -> content
	secretDirs := map[string]bool{}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("%s: volumeMount %s has no volume", r.dir, m.Name)
			continue
		}
		if !m.ReadOnly {
			t.Errorf("%s: volumeMount %s is writable", r.dir, m.Name)
		}
		if m.SubPath != "" {
			t.Errorf("%s: volumeMount %s uses subPath: updates of the ConfigMap/Secret would not reach the pod", r.dir, m.Name)
		}
		switch {
		case v.ConfigMap != nil:
			cm, ok := r.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("%s: volume %s: ConfigMap %s is not rendered", r.dir, v.Name, v.ConfigMap.Name)
				continue
			}
			for k, d := range cm.Data {
				files[path.Join(m.MountPath, k)] = []byte(d)
			}
		case v.Secret != nil:
			sec, ok := r.secrets[v.Secret.SecretName]
			if !ok {
				t.Errorf("%s: volume %s: Secret %s is not rendered", r.dir, v.Name, v.Secret.SecretName)
				continue
			}
			secretDirs[m.MountPath] = true
			for k, d := range sec.Data {
				files[path.Join(m.MountPath, k)] = d
			}
			if v.Secret.DefaultMode != nil && *v.Secret.DefaultMode&0o007 != 0 {
				t.Errorf("%s: credentials are readable by others (mode %o)", r.dir, *v.Secret.DefaultMode)
			}
		default:
			t.Errorf("%s: volume %s is neither a ConfigMap nor a Secret", r.dir, v.Name)
		}
	}
	for _, a := range c.VolumeMounts {
		for _, b := range c.VolumeMounts {
			if a.Name != b.Name && strings.HasPrefix(b.MountPath, strings.TrimSuffix(a.MountPath, "/")+"/") {
				t.Errorf("%s: volume %s is mounted inside volume %s (%s): the kubelet's atomic updates of %s do not expect it", r.dir, b.Name, a.Name, b.MountPath, a.Name)
			}
		}
	}
	configPath, _ := flagValue(c.Args, "config.file")
	config, ok := files[configPath]
	if !ok {
		t.Fatalf("%s: --config.file=%s is not a file the pod mounts", r.dir, configPath)
	}
	for _, pf := range passwordFiles(t, config) {
		if _, ok := files[pf]; !ok || !secretDirs[path.Dir(pf)] {
			t.Errorf("%s: password_file %s is not a key of a mounted Secret", r.dir, pf)
		}
	}
	configCheck(t, dockerBuild(t), config, r.dir+" ConfigMap targets.yaml")
}

// ruleJobs returns the job names the rules select on (job="...").
func ruleJobs(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	re := regexp.MustCompile(`\bjob\s*=\s*"([^"]+)"`)
	for _, f := range ruleFiles {
		b, err := os.ReadFile(repoPath(f))
		if err != nil {
			continue // ruleGroups reports it
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	return out
}

// ruleGroups decodes Prometheus rule groups strictly into the operator's types.
func ruleGroups(t *testing.T, rel string) []monitoringv1.RuleGroup {
	t.Helper()
	b, err := os.ReadFile(repoPath(rel))
	if os.IsNotExist(err) {
		t.Fatalf("%s does not exist (yet): the PrometheusRule must carry its groups. Write it, then `cd cmd/deploycheck && go run . generate`", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	if err := decodeStrict(b, &f); err != nil {
		t.Fatalf("%s: decoding strictly into the prometheus-operator's RuleGroup: %v", rel, err)
	}
	if len(f.Groups) == 0 {
		t.Fatalf("%s has no groups", rel)
	}
	return f.Groups
}

// checkPrometheusRule: the PrometheusRule carries exactly the groups of
// deploy/prometheus/alerts.yml and rules.yml.
func checkPrometheusRule(t *testing.T, r *rendered) {
	var want []monitoringv1.RuleGroup
	for _, f := range ruleFiles {
		want = append(want, ruleGroups(t, f)...)
	}
	if len(r.rules) != 1 {
		t.Fatalf("%s: %d PrometheusRules, want 1", r.dir, len(r.rules))
	}
	got := r.rules[0].Spec.Groups
	names := map[string]bool{}
	for _, g := range got {
		if names[g.Name] {
			t.Errorf("%s: rule group %q appears twice (the operator rejects that)", r.dir, g.Name)
		}
		names[g.Name] = true
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s: the PrometheusRule's groups differ from %s; run `cd cmd/deploycheck && go run . generate`\n%s",
			r.dir, strings.Join(ruleFiles, " + "), firstDiff(string(gj), string(wj)))
	}
}

// checkDashboards: the ConfigMaps labelled for Grafana's sidecar hold exactly
// grafana/dashboards/*.json, byte for byte.
func checkDashboards(t *testing.T, r *rendered) {
	want, err := dashboardFiles(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	uids := map[string]string{}
	for name, cm := range r.configMaps {
		if cm.Labels[dashboardLabel] != "1" {
			continue
		}
		if len(cm.Data) != 1 || len(cm.BinaryData) != 0 {
			t.Errorf("%s: dashboard ConfigMap %s holds %d files, want 1", r.dir, name, len(cm.Data))
		}
		size := 0
		for k, v := range cm.Data {
			if _, dup := got[k]; dup {
				t.Errorf("%s: dashboard %s is in two ConfigMaps", r.dir, k)
			}
			got[k] = v
			size += len(v)
			var d struct {
				UID   string `json:"uid"`
				Title string `json:"title"`
			}
			if err := json.Unmarshal([]byte(v), &d); err != nil || d.UID == "" || d.Title == "" {
				t.Errorf("%s: %s is not a dashboard with a uid and title: %v", r.dir, k, err)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("%s: %s and %s share the uid %q", r.dir, k, other, d.UID)
			}
			uids[d.UID] = k
		}
		if size > kubectlApplyMax {
			t.Errorf("%s: dashboard ConfigMap %s is %d bytes: `kubectl apply` (client-side) fails above %d; use server-side apply or split it", r.dir, name, size, kubectlApplyMax)
		}
	}
	var gotNames, wantNames []string
	for k := range got {
		gotNames = append(gotNames, k)
	}
	for k := range want {
		wantNames = append(wantNames, k)
	}
	sort.Strings(gotNames)
	sort.Strings(wantNames)
	if !reflect.DeepEqual(gotNames, wantNames) {
		t.Fatalf("%s: dashboard ConfigMaps hold %v, %s holds %v; run `cd cmd/deploycheck && go run . generate`", r.dir, gotNames, dashboardsDir, wantNames)
	}
	for k, w := range want {
		if !bytes.Equal([]byte(got[k]), w) {
			t.Errorf("%s: dashboard %s differs from %s/%s; run `cd cmd/deploycheck && go run . generate`", r.dir, k, dashboardsDir, k)
		}
	}
}

// TestGeneratedUpToDate: the committed generated files are what generate
// would write now.
func TestGeneratedUpToDate(t *testing.T) {
	want, err := generated(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for p, w := range want {
		got, err := os.ReadFile(repoPath(p))
		if err != nil || !bytes.Equal(got, w) {
			t.Errorf("%s is out of date (%v); run `cd cmd/deploycheck && go run . generate`\n%s", p, err, firstDiff(string(got), string(w)))
		}
	}
	old, err := stale(repoRoot, want)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range old {
		t.Errorf("%s is not generated from anything any more; run `cd cmd/deploycheck && go run . generate`", p)
	}
	// The generated files are part of the base.
	k := string(readRepo(t, k8sBase+"/kustomization.yaml"))
	for _, res := range []string{filepath.Base(genRule), filepath.Base(genDashboards)} {
		if !strings.Contains(k, "\n  - "+res+"\n") {
			t.Errorf("%s/kustomization.yaml does not list %s", k8sBase, res)
		}
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  have: %s\n  want: %s", i+1, x, y)
		}
	}
	return "(no line differs)"
}
