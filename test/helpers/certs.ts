/**
 * A throwaway PKI made with the openssl CLI at test time: a CA, a server certificate for
 * localhost/127.0.0.1 and a client certificate, both signed by the CA. Nothing is checked in,
 * so no certificate in the repository can expire or leak.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const OPENSSL = fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';

export interface CertFiles {
  /** Paths of the PEM files. */
  cert: string;
  key: string;
  /** Their contents. */
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  dir: string;
  ca: CertFiles;
  /** CN `localhost`, SAN DNS:localhost and IP:127.0.0.1, serverAuth. */
  server: CertFiles;
  /** CN `tether-test-device`, clientAuth. */
  client: CertFiles;
  /** Another server certificate from the same CA (e.g. to test a reload); files `<name>.crt/.key`. */
  issueServer(name: string, commonName?: string): CertFiles;
  /** Another client certificate from the same CA, with the given CN. */
  issueClient(name: string, commonName: string): CertFiles;
}

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function read(dir: string, name: string): CertFiles {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  return { cert, key, certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
}

/** Creates the PKI in `dir` (which must exist). EC P-256 keys: fast to generate. */
export function generateTestPki(dir: string): TestPki {
  openssl(
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Tether Test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  let serial = 0;

  function issue(name: string, commonName: string, extensions: string): CertFiles {
    openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${commonName}`],
      dir,
    );
    fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
    serial += 1;
    openssl(
      [
        'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(1000 + serial),
        '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
      ],
      dir,
    );
    return read(dir, name);
  }

  const issueServer = (name: string, commonName = 'localhost') =>
    issue(name, commonName, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const issueClient = (name: string, commonName: string) =>
    issue(name, commonName, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');

  return {
    dir,
    ca: read(dir, 'ca'),
    server: issueServer('server'),
    client: issueClient('client', 'tether-test-device'),
    issueServer,
    issueClient,
  };
}
