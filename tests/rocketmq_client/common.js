'use strict';
// Shared by the scenario scripts: the scenario's parameters (one JSON object in argv[2]), a hard
// deadline, the client options that point ali-ons at comet's name server, and the one JSON
// result line each script prints on stdout. ali-ons logs to stderr (console.warn/error), which
// the C++ test keeps in a log file, so stdout carries only what the test parses.

const { Producer, Consumer, Message } = require('ali-ons');

function params() {
  if (process.argv.length < 3) fail('usage: node <script> \'<json parameters>\'');
  let p;
  try {
    p = JSON.parse(process.argv[2]);
  } catch (err) {
    fail(`parameters are not JSON: ${err.message}`);
  }
  if (!p.namesrv) fail('parameters lack "namesrv" (host:port of comet-namesrv)');
  return p;
}

// Every script ends within `ms`: past it, it prints why on stderr and exits with status 2.
function deadline(ms, what) {
  const timer = setTimeout(() => fail(`timed out after ${ms} ms: ${what()}`, 2), ms);
  timer.unref();
}

function fail(message, code = 1) {
  process.stderr.write(`rocketmq_client: ${message}\n`);
  process.exit(code);
}

// ali-ons requires an HTTP client to look the name server up; with `nameSrv` set it never calls
// it, so this one only says so if it ever is.
const noHttp = {
  request() {
    throw new Error('ali-ons asked for the name server over HTTP although nameSrv is set');
  },
};

// Client options: comet's name server, and the route poll and heartbeat intervals short (they are
// ali-ons options, 30 s by default) so that a route change is seen within a moment. With
// "accessKey" and "secretKey" in the parameters, ali-ons signs every request (ACL 1.0), to the
// name server as well as to brokers.
function clientOptions(p, extra) {
  const credentials = p.accessKey ? { accessKey: p.accessKey, secretKey: p.secretKey } : {};
  return Object.assign({
    nameSrv: p.namesrv,
    httpclient: noHttp,
    pollNameServerInteval: p.routePollMs || 500,
    heartbeatBrokerInterval: p.heartbeatMs || 1000,
    rebalanceInterval: p.rebalanceMs || 1000,
    persistConsumerOffsetInterval: 500,
  }, credentials, extra);
}

// Every error answer ali-ons received (it turns a response code it has no case for into an
// MQClientException {code, message: remark}; its producer retries some of them, NO_PERMISSION
// among them, and then throws a generic "still failed"): what a refusal test checks.
const refusals = [];
function recordRefusals() {
  const MQClientAPI = require('ali-ons/lib/mq_client_api');
  const original = MQClientAPI.prototype._defaultHandler;
  MQClientAPI.prototype._defaultHandler = function(request, response) {
    refusals.push({ requestCode: request.code, code: response.code, remark: response.remark || '' });
    return original.call(this, request, response);
  };
}

// A message as the scripts exchange it: body as base64, so that binary bodies survive.
function describe(msg) {
  const props = Object.assign({}, msg.properties);
  // ali-ons reads the properties' trailing separator (RocketMQ writes one after every pair) as an
  // empty key; unset ones are null.
  for (const k of Object.keys(props)) {
    if (k === '' || props[k] === null || props[k] === undefined) delete props[k];
  }
  return {
    topic: msg.topic,
    tags: msg.tags || '',
    keys: msg.keys || '',
    body: Buffer.from(msg.body || []).toString('base64'),
    properties: props,
    msgId: msg.msgId,
    uniqKey: props.UNIQ_KEY || '',
    queueId: msg.queueId,
    queueOffset: msg.queueOffset,
    commitLogOffset: msg.commitLogOffset,
    sysFlag: msg.sysFlag,
    reconsumeTimes: msg.reconsumeTimes,
    bornTimestamp: msg.bornTimestamp,
    storeTimestamp: msg.storeTimestamp,
    storeHost: msg.storeHost,
    receivedAt: Date.now(),
  };
}

// A Message from the test's description: {topic, tags, keys: [..], body (base64), properties,
// delayLevel}.
function toMessage(m, topic) {
  const msg = new Message(m.topic || topic, m.tags || null, Buffer.from(m.body || '', 'base64'));
  if (m.keys && m.keys.length) msg.keys = m.keys;
  for (const [k, v] of Object.entries(m.properties || {})) msg.properties[k] = v;
  if (m.delayLevel) msg.delayTimeLevel = m.delayLevel;
  return msg;
}

function print(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

// Closes `clients` within `ms` (ali-ons keeps a shared inner producer whose timers would hold the
// process), then exits 0 once stdout is written.
async function closeAndExit(clients, ms = 3000) {
  const closing = Promise.all(clients.map(c => c.close().catch(err => {
    process.stderr.write(`rocketmq_client: close: ${err.message}\n`);
  })));
  await Promise.race([ closing, new Promise(resolve => setTimeout(resolve, ms).unref()) ]);
  process.stdout.write('', () => process.exit(0));
}

module.exports = {
  Producer, Consumer, Message, params, deadline, fail, clientOptions, describe, toMessage, print,
  closeAndExit, recordRefusals, refusals,
};
