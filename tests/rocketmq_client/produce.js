'use strict';
// Sends messages with ali-ons's Producer, one after another, and prints what each send answered.
//   node produce.js '{"namesrv":"127.0.0.1:9876","group":"G","topic":"T","timeoutMs":20000,
//                     "messages":[{"tags":"TagA","keys":["k"],"body":"<base64>",
//                                  "properties":{"a":"b"},"delayLevel":1}]}'
// Prints {"sent":[{"msgId","queueId","queueOffset","brokerName","sendStatus","sentAt"}]}.
// With "expectRefusal": true, the first failed send prints {"refused":{"message","answers":
// [{"requestCode","code","remark"}]}} (every error answer ali-ons got) and the script exits 0.
const c = require('./common');

async function main() {
  const p = c.params();
  if (p.expectRefusal) c.recordRefusals();
  let done = 0;
  c.deadline(p.timeoutMs || 20000, () => `${done} of ${p.messages.length} messages sent`);
  const options = c.clientOptions(p, { producerGroup: p.group || 'ali-ons-producer' });
  const producer = new c.Producer(options);
  producer.on('error', err => process.stderr.write(`producer error: ${err.message}\n`));
  await producer.ready();
  const sent = [];
  for (const m of p.messages) {
    const sentAt = Date.now();
    let r;
    try {
      r = await producer.send(c.toMessage(m, p.topic));
    } catch (err) {
      if (!p.expectRefusal) throw err;
      c.print({ refused: { message: err.message, answers: c.refusals } });
      await c.closeAndExit([ producer ]);
      return;
    }
    sent.push({
      msgId: r.msgId,
      queueId: r.messageQueue.queueId,
      queueOffset: r.queueOffset,
      brokerName: r.messageQueue.brokerName,
      sendStatus: r.sendStatus,
      sentAt,
    });
    done++;
  }
  c.print({ sent });
  await c.closeAndExit([ producer ]);
}

main().catch(err => c.fail(`produce: ${err.stack || err.message}`));
