// Package kubernetes is the Runtime that runs service revisions on a
// Kubernetes cluster: each revision is a Deployment whose replicas are the
// reconciler's desired count, its environment a Secret the Deployment owns,
// and its ready instances the Pods whose readiness probe (the revision's
// health check) passes, reached by Pod IP. See docs/kubernetes.md.
package kubernetes
