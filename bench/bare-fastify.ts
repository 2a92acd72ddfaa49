/**
 * The HTTP ceiling: a bare Fastify route that answers 202 and does nothing else. Same JSON body
 * parsing as any Fastify app; no validation, no storage. Started as its own process by the bench.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/v1/submit', async (_request, reply) => reply.code(202).send({ correlation_id: '00000000-0000-4000-8000-000000000000', status: 'PENDING' }));
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${JSON.stringify({ url, msg: 'OpenHQM listening (bare fastify)' })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
