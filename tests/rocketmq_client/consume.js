'use strict';
// Push-consumes with ali-ons's Consumer (clustering, or broadcasting with "broadcast":true and an
// "instance" name; from the first offset) until `expect`
// deliveries arrived, then `quietMs` more (to see deliveries that should not come), and prints
// every delivery in order. A handler that throws makes ali-ons send the message back
// (CONSUMER_SEND_MSG_BACK): bodies listed in `failFirst` (base64) throw on their first delivery.
//   node consume.js '{"namesrv":"..","group":"G","topic":"T","subscription":"TagA || TagB",
//                     "expect":3,"failFirst":["<base64>"],"quietMs":1000,"timeoutMs":30000}'
// Prints {"ready":true} on stdout first (its subscription is in place), then
// {"messages":[<common.describe of each delivery>]}.
const c = require('./common');

async function main() {
  const p = c.params();
  const messages = [];
  c.deadline(p.timeoutMs || 30000, () => `${messages.length} of ${p.expect} deliveries: ` +
    JSON.stringify(messages.map(m => ({ body: m.body, topic: m.topic, tags: m.tags }))));
  const consumer = new c.Consumer(c.clientOptions(p, {
    consumerGroup: p.group,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    brokerSuspendMaxTimeMillis: 2000,
    consumerTimeoutMillisWhenSuspend: 5000,
    pullTimeDelayMillsWhenException: 500,
    maxReconsumeTimes: p.maxReconsumeTimes || 16,
    isBroadcast: !!p.broadcast,
    // Broadcasting keeps the instance name (clustering makes it the pid): two scripts in one
    // group need their own client ids.
    instanceName: p.instance || 'DEFAULT',
  }));
  consumer.on('error', err => process.stderr.write(`consumer error: ${err.message}\n`));
  const failed = new Set();
  const failFirst = new Set(p.failFirst || []);
  let enough;
  const reached = new Promise(resolve => { enough = resolve; });
  consumer.subscribe(p.topic, p.subscription || '*', async msg => {
    const d = c.describe(msg);
    messages.push(d);
    if (messages.length >= p.expect) enough();
    if (failFirst.has(d.body) && !failed.has(d.body)) {
      failed.add(d.body);
      throw new Error('failing this message once, as the scenario asks');
    }
  });
  await consumer.ready();
  c.print({ ready: true });
  await reached;
  await new Promise(resolve => setTimeout(resolve, p.quietMs || 0));
  c.print({ messages });
  await c.closeAndExit([ consumer ]);
}

main().catch(err => c.fail(`consume: ${err.stack || err.message}`));
