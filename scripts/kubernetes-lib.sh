# Functions of scripts/start-kubernetes (sourced, not run).

# image_tar OUT REF BINARY: writes OUT, an image tarball in `docker save`
# form that `ctr images import` takes, of one layer holding BINARY as
# /<its name>, which is the image's entrypoint. No engine or registry is
# needed.
image_tar() {
	local out=$1 ref=$2 binary=$3 d name layer diff config
	d=$(mktemp -d)
	name=$(basename "$binary")
	mkdir -p "$d/rootfs" "$d/img"
	cp "$binary" "$d/rootfs/$name"
	tar -C "$d/rootfs" --owner=0 --group=0 --numeric-owner -cf "$d/img/layer.tar" "$name"
	diff=$(sha256sum "$d/img/layer.tar" | cut -d' ' -f1)
	mkdir -p "$d/img/$diff"
	mv "$d/img/layer.tar" "$d/img/$diff/layer.tar"
	printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/%s"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$name" "$diff" >"$d/img/config.json"
	config=$(sha256sum "$d/img/config.json" | cut -d' ' -f1)
	mv "$d/img/config.json" "$d/img/$config.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config" "$ref" "$diff" >"$d/img/manifest.json"
	tar -C "$d/img" -cf "$out" .
	rm -rf "$d"
}

# cert NAME SUBJECT USAGE [SANS]: a key and a certificate signed by the CA
# in the current directory.
cert() {
	local name=$1 subj=$2 usage=$3 sans=${4:-}
	[[ -f $name.crt ]] && return 0
	openssl genrsa -out "$name.key" 2048 2>/dev/null
	openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$usage"
		[[ -z $sans ]] || echo "subjectAltName=$sans"
	} >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
		-extfile "$name.ext" -out "$name.crt" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
}

# kubeconfig NAME: NAME.kubeconfig for the client certificate NAME.crt.
kubeconfig() {
	local f=$1.kubeconfig
	[[ -f $f ]] && return 0
	"$bin/kubectl" config set-cluster local --server=https://127.0.0.1:6443 --certificate-authority=ca.crt \
		--embed-certs=true --kubeconfig="$f.tmp" >/dev/null
	"$bin/kubectl" config set-credentials "$1" --client-certificate="$1.crt" --client-key="$1.key" \
		--embed-certs=true --kubeconfig="$f.tmp" >/dev/null
	"$bin/kubectl" config set-context local --cluster=local --user="$1" --kubeconfig="$f.tmp" >/dev/null
	"$bin/kubectl" config use-context local --kubeconfig="$f.tmp" >/dev/null
	mv "$f.tmp" "$f"
}

# pki DIR: the CA, the serving and client certificates, the service-account
# key pair and the kubeconfigs of the cluster, made once.
pki() {
	(
		cd "$1"
		if [[ ! -f ca.crt ]]; then
			openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
				-subj /CN=openrunner-kubernetes-ca 2>/dev/null
		fi
		cert apiserver /CN=kube-apiserver serverAuth \
			"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$nodeip,IP:10.96.0.1"
		cert admin /O=system:masters/CN=admin clientAuth
		cert kube-controller-manager /CN=system:kube-controller-manager clientAuth
		cert kube-scheduler /CN=system:kube-scheduler clientAuth
		cert kubelet "/O=system:nodes/CN=system:node:$node" clientAuth
		cert kube-proxy /CN=system:kube-proxy clientAuth
		cert apiserver-kubelet /O=system:masters/CN=kube-apiserver-kubelet-client clientAuth
		[[ -f sa.key ]] || { openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }
		for k in admin kube-controller-manager kube-scheduler kubelet kube-proxy; do kubeconfig "$k"; done
	)
}
