/**
 * `airlake keys create --name N | list | revoke ID`: API keys for the HTTP API. A new key is printed
 * once; only its SHA-256 is stored, so a lost key cannot be shown again (revoke it, create another).
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { createApiKey, listKeys, revokeKey } from '../../pipeline/keys.js'

function iso(time: number | undefined): string {
  return time === undefined ? '-' : new Date(time).toISOString().replace('.000Z', 'Z')
}

/** Adds `keys` and its subcommands to `program`. Exit codes: 0 done, 1 failed (unknown id, store), 2 usage. */
export function keysCommand(program: Command, open: () => Promise<App>): void {
  const keys = program
    .command('keys')
    .description('API keys for the HTTP API (header x-api-key)')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake keys create --name dashboard\n  airlake keys list --json\n  airlake keys revoke 3f2a9c0d1b2e4f56',
    )

  keys
    .command('create')
    .description('create a key and print it once (only its hash is stored)')
    .requiredOption('--name <name>', 'who or what uses the key, e.g. "dashboard" or "sensor-gateway"')
    .option('--json', 'print {"id","name","key","createdAt"} as JSON')
    .action(async (options: { name: string; json?: boolean }) => {
      const app = await open()
      const { id, key, record } = await createApiKey(app, { name: options.name })
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ id, name: record.name, key, createdAt: iso(record.createdAt) })}\n`,
        )
        return
      }
      process.stdout.write(
        `Created API key ${id} (${record.name}). Copy it now: it is not shown again.\n\n  ${key}\n\n` +
          'Send it in the header x-api-key, e.g. curl -H "x-api-key: <key>" http://localhost:8080/sensorsdata/sensors\n',
      )
    })

  keys
    .command('list')
    .description('list keys (never the secrets)')
    .option('--json', 'print a JSON array')
    .action(async (options: { json?: boolean }) => {
      const app = await open()
      const records = await listKeys(app.store)
      if (options.json) {
        const rows = records.map((r) => ({
          id: r.id,
          name: r.name,
          createdAt: iso(r.createdAt),
          lastUsedAt: r.lastUsedAt === undefined ? null : iso(r.lastUsedAt),
          revokedAt: r.revokedAt === undefined ? null : iso(r.revokedAt),
          status: r.revokedAt === undefined ? 'active' : 'revoked',
        }))
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
        return
      }
      if (records.length === 0) {
        process.stdout.write('No API keys yet: create one with `airlake keys create --name NAME`.\n')
        return
      }
      const table = [
        ['ID', 'NAME', 'STATUS', 'CREATED', 'LAST USED'],
        ...records.map((r) => [
          r.id,
          r.name,
          r.revokedAt === undefined ? 'active' : 'revoked',
          iso(r.createdAt),
          iso(r.lastUsedAt),
        ]),
      ]
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
      for (const row of table)
        process.stdout.write(
          `${row
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join('  ')
            .trimEnd()}\n`,
        )
    })

  keys
    .command('revoke')
    .description('revoke a key: requests with it get 401 from then on')
    .argument('<id>', 'the key id (see `airlake keys list`)')
    .option('--json', 'print {"id","name","revokedAt","alreadyRevoked"} as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const app = await open()
      const { record, alreadyRevoked } = await revokeKey(app, id)
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ id: record.id, name: record.name, revokedAt: iso(record.revokedAt), alreadyRevoked })}\n`,
        )
        return
      }
      process.stdout.write(
        alreadyRevoked
          ? `API key ${record.id} (${record.name}) was already revoked at ${iso(record.revokedAt)}.\n`
          : `Revoked API key ${record.id} (${record.name}).\n`,
      )
    })
}
