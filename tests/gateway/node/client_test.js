// Polyglot check: a Node.js gRPC client (@grpc/grpc-js, @grpc/proto-loader)
// against the real tcpgate binary: Send, SendStream, a DEADLINE_EXCEEDED from
// a backend that never answers, grpc.health.v1, and server reflection (what
// grpcurl-style tools use to discover the API).
// Usage: node client_test.js TCPGATE_BINARY REPO_ROOT
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [tcpgate, root] = process.argv.slice(2);
const definition = protoLoader.loadSync(
  ['tcpgate/v1/gateway.proto', 'grpc/health/v1/health.proto'],
  { includeDirs: [path.join(root, 'proto')], keepCase: true, defaults: true, enums: String });
const loaded = grpc.loadPackageDefinition(definition);
const Gateway = loaded.tcpgate.v1.Gateway;
const Health = loaded.grpc.health.v1.Health;
// gRPC C++ 1.51 serves reflection v1alpha; the proto comes with @grpc/reflection.
const reflectionProtoDir = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
const Reflection = grpc.loadPackageDefinition(protoLoader.loadSync('grpc/reflection/v1alpha/reflection.proto',
  { includeDirs: [reflectionProtoDir], keepCase: true, defaults: true, oneofs: true }))
  .grpc.reflection.v1alpha.ServerReflection;

const failures = [];
function check(condition, what) {
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
  if (!condition) failures.push(what);
}

function startGateway(flags) {
  return new Promise((resolve, reject) => {
    const proc = spawn(tcpgate, ['--listen=127.0.0.1:0', '--admin_listen=', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const giveUp = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`tcpgate did not report its port within 20 s: ${log}`));
    }, 20000);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /tcpgate listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (match) {
        clearTimeout(giveUp);
        resolve({ proc, port: Number(match[1]) });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(giveUp);
      reject(new Error(`tcpgate exited early (${code}): ${log}`));
    });
  });
}

// SIGTERM; resolves with the exit code, or 'killed' if the gateway had not
// exited 20 s later (then SIGKILLed).
function stop(proc) {
  return new Promise((resolve) => {
    proc.removeAllListeners('exit');
    const giveUp = setTimeout(() => {
      proc.removeAllListeners('exit');
      proc.kill('SIGKILL');
      resolve('killed');
    }, 20000);
    proc.on('exit', (code) => {
      clearTimeout(giveUp);
      resolve(code);
    });
    proc.kill('SIGTERM');
  });
}

const deadlineIn = (ms) => new Date(Date.now() + ms);

function call(client, method, request, ms) {
  return new Promise((resolve) => {
    client[method](request, { deadline: deadlineIn(ms) }, (error, response) => resolve({ error, response }));
  });
}

async function awaitServing(port) {
  const health = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  for (let i = 0; i < 500; i++) {
    const { error, response } = await call(health, 'Check', { service: 'tcpgate.v1.Gateway' }, 5000);
    if (!error && response.status === 'SERVING') { health.close(); return true; }
    await new Promise((r) => setTimeout(r, 20));
  }
  health.close();
  return false;
}

// Asks the server's reflection service one question per request on one stream.
function reflect(port, requests) {
  return new Promise((resolve) => {
    const client = new Reflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const stream = client.ServerReflectionInfo({ deadline: deadlineIn(5000) });
    const answers = [];
    stream.on('data', (answer) => answers.push(answer));
    stream.on('end', () => { client.close(); resolve(answers); });
    stream.on('error', (e) => { client.close(); resolve({ error: e }); });
    for (const request of requests) stream.write(request);
    stream.end();
  });
}

async function main() {
  let { proc, port } = await startGateway([]);
  const client = new Gateway(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  check(await awaitServing(port), 'health SERVING for tcpgate.v1.Gateway');

  const { error, response } = await call(client, 'Send', { uid: 'node-1', val: 'pixelpig!' }, 5000);
  check(!error && response.uid === 'node-1' && response.val === 'server: hello, pixelpig!', 'Send answers');
  check(!error && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(response.ts), 'Send carries an RFC 3339 ts');

  const answers = new Map();
  await new Promise((resolve) => {
    const stream = client.SendStream({ deadline: deadlineIn(10000) });
    stream.on('data', (answer) => answers.set(answer.uid, answer));
    stream.on('end', resolve);
    stream.on('error', (e) => { check(false, `SendStream error ${e.code}`); resolve(); });
    for (let i = 0; i < 50; i++) stream.write({ uid: `node-${i}`, val: `v${i}` });
    stream.end();
  });
  check(answers.size === 50, 'SendStream answers every request');
  let matched = true;
  for (let i = 0; i < 50; i++) matched = matched && answers.get(`node-${i}`)?.val === `server: hello, v${i}`;
  check(matched, 'SendStream matches by uid');

  const reflected = await reflect(port, [{ list_services: '' }, { file_containing_symbol: 'tcpgate.v1.Gateway' },
    { file_containing_symbol: 'grpc.health.v1.Health' }]);
  check(Array.isArray(reflected) && reflected.length === 3, `reflection answers the three questions (${reflected.error || ''})`);
  if (Array.isArray(reflected) && reflected.length === 3) {
    const services = (reflected[0].list_services_response?.service || []).map((s) => s.name);
    check(services.includes('tcpgate.v1.Gateway') && services.includes('grpc.health.v1.Health'),
      `reflection lists tcpgate.v1.Gateway and grpc.health.v1.Health (${services.join(', ')})`);
    const files = reflected[1].file_descriptor_response?.file_descriptor_proto || [];
    const text = Buffer.concat(files.map((f) => Buffer.from(f))).toString('latin1');
    check(text.includes('tcpgate/v1/gateway.proto') && text.includes('SendStream'),
      'reflection returns the descriptor of tcpgate/v1/gateway.proto');
    // gRPC 1.51 serves the health service without its descriptor; tcpgate
    // links one in, or tools like grpcurl cannot call grpc.health.v1.Health.
    const health = (reflected[2].file_descriptor_response?.file_descriptor_proto || [])
      .map((f) => Buffer.from(f).toString('latin1')).join('');
    check(health.includes('grpc/health/v1/health.proto') && health.includes('Watch'),
      `reflection describes grpc.health.v1.Health (${reflected[2].error_response?.error_message || 'ok'})`);
  }
  client.close();
  check(await stop(proc) === 0, 'exit 0 on SIGTERM');

  // A backend that accepts and never answers.
  const silent = net.createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  ({ proc, port } = await startGateway([`--backends=127.0.0.1:${silent.address().port}`, '--default_timeout=300ms']));
  check(await awaitServing(port), 'health SERVING once the pool is connected');
  const slowClient = new Gateway(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const slow = await call(slowClient, 'Send', { uid: 'slow', val: 'v' }, 300);
  check(slow.error && slow.error.code === grpc.status.DEADLINE_EXCEEDED,
    `DEADLINE_EXCEEDED (got ${slow.error && slow.error.code})`);
  // With no deadline of the client's own, only the gateway's
  // --default_timeout can end the call: the status comes from the gateway.
  const fromGateway = await new Promise((resolve) => {
    const pending = slowClient.Send({ uid: 'no-deadline', val: 'v' }, (error) => {
      clearTimeout(giveUp);
      resolve(error);
    });
    const giveUp = setTimeout(() => pending.cancel(), 5000);  // Bounds a failing run.
  });
  check(fromGateway && fromGateway.code === grpc.status.DEADLINE_EXCEEDED,
    `the gateway's own DEADLINE_EXCEEDED reaches a call without a deadline (got ${fromGateway && fromGateway.code})`);
  slowClient.close();
  await stop(proc);
  silent.close();

  console.log(failures.length === 0 ? 'PASS' : `FAILED: ${failures.join('; ')}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
