package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/openrunner/openrunner"
)

// Labels and annotations the runtime sets besides openrunner.Label*. Label
// values are limited to 63 characters of [A-Za-z0-9._-], so the service
// label holds the ARN's last segment (the service id) and the annotations
// hold the ARN and revision as they are.
const (
	LabelOwner           = "dev.openrunner.owner"
	AnnotationServiceARN = "dev.openrunner/service-arn"
	AnnotationRevision   = "dev.openrunner/revision"
	AnnotationPort       = "dev.openrunner/port"
	// deletionCost is the ReplicaSet controller's hint of which Pods to
	// remove first when a Deployment scales down.
	deletionCost = "controller.kubernetes.io/pod-deletion-cost"
	container    = "app"
)

// selector selects every object of this runtime.
func (r *Runtime) selector() string {
	return openrunner.LabelManagedBy + "=openrunner," + LabelOwner + "=" + r.owner
}

// revSelector selects the objects of one revision.
func (r *Runtime) revSelector(serviceARN, revisionID string) string {
	return r.selector() + "," + openrunner.LabelServiceARN + "=" + serviceLabel(serviceARN) + "," +
		openrunner.LabelRevision + "=" + labelValue(revisionID)
}

var notLabel = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// labelValue returns s if it is a valid label value, else a readable
// prefix of it and a hash: at most 63 characters, starting and ending
// with an alphanumeric.
func labelValue(s string) string {
	v := notLabel.ReplaceAllString(s, "-")
	v = strings.Trim(v, "._-")
	if v == s && len(v) <= 63 {
		return v
	}
	sum := sha256.Sum256([]byte(s))
	v = strings.Trim(v[:min(len(v), 40)], "._-")
	if v == "" {
		return hex.EncodeToString(sum[:8])
	}
	return v + "-" + hex.EncodeToString(sum[:8])
}

// serviceLabel is the service label's value: the ARN's last segment (the
// service id) when it is a valid label value.
func serviceLabel(arn string) string {
	return labelValue(arn[strings.LastIndex(arn, "/")+1:])
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// objectName is the Deployment's (and its Secret's) name: the service's
// name and a hash of the ARN and revision, a DNS label short enough that
// the Pods' names (name-<rs hash>-<5>) stay within 63 characters.
func objectName(serviceARN, revisionID string) string {
	parts := strings.Split(serviceARN, "/")
	name := "svc"
	if len(parts) >= 2 {
		name = parts[len(parts)-2]
	}
	name = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(name) > 24 {
		name = strings.TrimRight(name[:24], "-")
	}
	if name == "" || name[0] < 'a' {
		name = "s" + name
	}
	sum := sha256.Sum256([]byte(serviceARN + "\x00" + revisionID))
	return name + "-" + hex.EncodeToString(sum[:6])
}

// labels are the labels of the revision's objects and Pods.
func (r *Runtime) labels(spec openrunner.RevisionSpec) map[string]string {
	l := map[string]string{}
	for k, v := range spec.Instance.Labels {
		l[labelValue(k)] = labelValue(v)
	}
	l[openrunner.LabelManagedBy] = "openrunner"
	l[LabelOwner] = r.owner
	l[openrunner.LabelServiceARN] = serviceLabel(spec.ServiceARN)
	l[openrunner.LabelRevision] = labelValue(spec.RevisionID)
	return l
}

func annotations(spec openrunner.RevisionSpec) map[string]string {
	return map[string]string{
		AnnotationServiceARN: spec.ServiceARN,
		AnnotationRevision:   spec.RevisionID,
		AnnotationPort:       strconv.Itoa(spec.Instance.Port),
	}
}

// envSecret is the Secret that holds the revision's environment: every
// variable but PORT reaches the Pods through a secretKeyRef, so no value
// (RuntimeEnvironmentSecrets among them) is written in the Pod spec.
func (r *Runtime) envSecret(spec openrunner.RevisionSpec) *corev1.Secret {
	data := map[string][]byte{}
	for k, v := range spec.Instance.Env {
		data[secretKey(k)] = []byte(v)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: objectName(spec.ServiceARN, spec.RevisionID) + "-env",
			Labels: r.labels(spec), Annotations: annotations(spec)},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

var notSecretKey = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// secretKey is the Secret key of an environment variable: its name when
// that is a valid key, else a hash of it.
func secretKey(name string) string {
	if !notSecretKey.MatchString(name) && len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "v-" + hex.EncodeToString(sum[:12])
}

// deployment is the revision's Deployment. image is the reference the
// Pods run (by digest when EnsureImage resolved one), shell whether the
// image has /bin/sh for the start command.
func (r *Runtime) deployment(spec openrunner.RevisionSpec, image string, shell bool, pullSecret string) *appsv1.Deployment {
	in := spec.Instance
	labels := r.labels(spec)
	port := strconv.Itoa(in.Port)
	env := []corev1.EnvVar{{Name: "PORT", Value: port}}
	if in.PortEnv != "" && in.PortEnv != "PORT" {
		env = append(env, corev1.EnvVar{Name: in.PortEnv, Value: port})
	}
	secret := objectName(spec.ServiceARN, spec.RevisionID) + "-env"
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		if k == "PORT" || k == in.PortEnv {
			continue
		}
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: secretKey(k)}}})
	}
	c := corev1.Container{
		Name:            container,
		Image:           image,
		Env:             env,
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: int32(in.Port), Protocol: corev1.ProtocolTCP}},
		ReadinessProbe:  probe(spec.HealthCheck, in.Port),
		Resources:       resources(in.CPU, in.MemoryMB),
		ImagePullPolicy: corev1.PullIfNotPresent,
	}
	if in.StartCommand != "" {
		if shell {
			c.Command = []string{"/bin/sh", "-c", in.StartCommand}
		} else {
			c.Command = strings.Fields(in.StartCommand)
		}
	}
	grace := int64(r.opts.StopGrace.Seconds())
	replicas := int32(spec.Replicas)
	pod := corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		TerminationGracePeriodSeconds: &grace,
		AutomountServiceAccountToken:  new(false),
		EnableServiceLinks:            new(false),
	}
	if pullSecret != "" {
		pod.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: objectName(spec.ServiceARN, spec.RevisionID), Labels: labels, Annotations: annotations(spec)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
				LabelOwner:                 r.owner,
				openrunner.LabelServiceARN: labels[openrunner.LabelServiceARN],
				openrunner.LabelRevision:   labels[openrunner.LabelRevision],
			}},
			// A revision's Pods never change: only their count does. The
			// reconciler rolls out a new revision as a new Deployment.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations(spec)},
				Spec:       pod,
			},
		},
	}
}

// probe is the readiness probe of a health check (App Runner's defaults
// for the fields left zero: TCP, 5 s interval, 2 s timeout, 1 healthy and
// 5 unhealthy checks).
func probe(hc openrunner.HealthCheckConfig, port int) *corev1.Probe {
	p := &corev1.Probe{
		PeriodSeconds:    int32(orDefault(hc.Interval, 5)),
		TimeoutSeconds:   int32(orDefault(hc.Timeout, 2)),
		SuccessThreshold: int32(orDefault(hc.HealthyThreshold, 1)),
		FailureThreshold: int32(orDefault(hc.UnhealthyThreshold, 5)),
	}
	target := intstr.FromInt32(int32(port))
	if strings.EqualFold(hc.Protocol, "HTTP") {
		path := hc.Path
		if path == "" {
			path = "/"
		}
		p.HTTPGet = &corev1.HTTPGetAction{Path: path, Port: target}
	} else {
		p.TCPSocket = &corev1.TCPSocketAction{Port: target}
	}
	return p
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// resources sets requests equal to limits (App Runner reserves what an
// instance is configured with): cpu in App Runner units, 1024 = 1 vCPU.
func resources(cpu, memoryMB int) corev1.ResourceRequirements {
	rl := corev1.ResourceList{}
	if cpu > 0 {
		rl[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(cpu)*1000/1024, resource.DecimalSI)
	}
	if memoryMB > 0 {
		rl[corev1.ResourceMemory] = resource.MustParse(fmt.Sprintf("%dMi", memoryMB))
	}
	if len(rl) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Requests: rl, Limits: rl.DeepCopy()}
}
