'use strict';
// Sends without pause (one at a time) with ali-ons's Producer while the test kills the master and
// promotes its slave. Prints {"phase":"steady","acked":N} once `steadyAcks` sends were acked (the
// test kills the master then), {"phase":"recovered",...} at the first ack by another broker,
// and once `afterRecovery` more were acked, the result:
//   {"acked":[{"body" (base64),"msgId","queueId","queueOffset","brokerName"}],"failures":N,
//    "firstFailureAt":ms,"recoveredAt":ms}
// A failed send is retried with the next body after `retryPauseMs` (ali-ons itself retries each
// send 3 times within its sendMsgTimeout).
//   node failover_send.js '{"namesrv":"..","topic":"T","steadyAcks":200,"afterRecovery":50,
//                           "timeoutMs":60000}'
const c = require('./common');

async function main() {
  const p = c.params();
  const acked = [];
  let failures = 0;
  let firstFailureAt = 0;
  let recoveredAt = 0;
  let firstHost = '';
  c.deadline(p.timeoutMs || 60000, () =>
    `${acked.length} acked, ${failures} failed, recovered: ${recoveredAt !== 0}`);
  const producer = new c.Producer(c.clientOptions(p, {
    producerGroup: p.group || 'ali-ons-failover',
    sendMsgTimeout: p.sendTimeoutMs || 1000,
  }));
  producer.on('error', err => process.stderr.write(`producer error: ${err.message}\n`));
  await producer.ready();
  let afterRecovery = 0;
  for (let i = 0; afterRecovery < p.afterRecovery; i++) {
    const body = `failover-${i}`;
    try {
      const r = await producer.send(new c.Message(p.topic, 'TagF', body));
      // Stored but not replicated (FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE...): not acked.
      if (r.sendStatus !== 'SEND_OK') throw new Error(`send status ${r.sendStatus}`);
      acked.push({
        body: Buffer.from(body).toString('base64'),
        msgId: r.msgId,
        queueId: r.messageQueue.queueId,
        queueOffset: r.queueOffset,
        brokerName: r.messageQueue.brokerName,
      });
      if (acked.length === p.steadyAcks) c.print({ phase: 'steady', acked: acked.length });
      // The offsetMsgId's first 16 hex digits are the storing broker's address: a new one is the
      // new master's first ack.
      if (!firstHost) firstHost = r.msgId.slice(0, 16);
      if (r.msgId.slice(0, 16) !== firstHost && !recoveredAt) {
        recoveredAt = Date.now();
        const afterFirstFailureMs = firstFailureAt ? recoveredAt - firstFailureAt : -1;
        c.print({ phase: 'recovered', afterFirstFailureMs });
      }
      if (recoveredAt) afterRecovery++;
    } catch (err) {
      failures++;
      if (!firstFailureAt) firstFailureAt = Date.now();
      process.stderr.write(`send ${body} failed: ${err.message}\n`);
      await new Promise(resolve => setTimeout(resolve, p.retryPauseMs || 100));
    }
  }
  c.print({ acked, failures, firstFailureAt, recoveredAt });
  await c.closeAndExit([ producer ]);
}

main().catch(err => c.fail(`failover_send: ${err.stack || err.message}`));
