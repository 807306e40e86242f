/**
 * `airlake models list | show | promote | register-onnx`: the model registry (versions with signature,
 * metrics, gold snapshot and artifact; aliases such as champion and challenger).
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { AirlakeError } from '../../core/errors.js'
import type { ModelVersionRecord } from '../../core/ports/store.js'
import { parseModelRef, promoteModel, registerOnnx, resolveModelVersion } from '../../pipeline/registry.js'
import { parseStep } from '../../pipeline/time-series.js'
import { isoTime, metric, printTable, trainingDeps } from './training-deps.js'

function wholeNumber(name: string): (text: string) => number {
  return (text) => {
    const value = Number(text)
    if (!Number.isInteger(value) || value < 1)
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `${name} must be a whole number >= 1, got ${JSON.stringify(text)}`,
      )
    return value
  }
}

/** A version as printed by `--json`: the record with its aliases and ISO times. */
function versionJson(record: ModelVersionRecord, aliases: Record<string, number>) {
  return {
    ...record,
    aliases: Object.entries(aliases)
      .filter(([, v]) => v === record.version)
      .map(([a]) => a)
      .sort(),
    createdAt: isoTime(record.createdAt),
  }
}

/** Adds `models` and its subcommands to `program`. Exit codes: 0 done, 1 failed (unknown model, store), 2 usage. */
export function modelsCommand(program: Command, open: () => Promise<App>): void {
  const models = program
    .command('models')
    .description('the model registry: versions, metrics, aliases')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake models list\n  airlake models show motorway-ch.nox_ppb.ridge@champion --json\n' +
        '  airlake models promote motorway-ch.nox_ppb.ridge 2 --alias champion\n' +
        '  airlake models register-onnx model.onnx --name lab.iaq.onnx --measure iaq --window 60 --horizon 15 --step 1m',
    )

  models
    .command('list')
    .description('every version of every model, newest first, with its aliases and test metrics')
    .option('--model <name>', 'only this model')
    .option('--json', 'print a JSON array of versions')
    .action(async (options: { model?: string; json?: boolean }) => {
      const app = await open()
      const all = await app.store.listModels()
      const aliases = new Map(all.map((m) => [m.name, m.aliases]))
      const versions = await app.store.listModelVersions(options.model)
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify(
            versions.map((v) => versionJson(v, aliases.get(v.model) ?? {})),
            null,
            2,
          )}\n`,
        )
        return
      }
      if (versions.length === 0) {
        process.stdout.write('No models yet: train some with `airlake train --device D --measure M`.\n')
        return
      }
      printTable([
        ['MODEL', 'VERSION', 'ALGORITHM', 'ALIASES', 'MAE', 'RMSE', 'sMAPE %', 'SNAPSHOT', 'CREATED'],
        ...versions.map((v) => [
          v.model,
          String(v.version),
          v.algorithm,
          versionJson(v, aliases.get(v.model) ?? {}).aliases.join(',') || '-',
          metric(v.metrics.mae),
          metric(v.metrics.rmse),
          metric(v.metrics.smape),
          v.snapshotId ?? '-',
          isoTime(v.createdAt),
        ]),
      ])
    })

  models
    .command('show')
    .description('one version in full (signature, metrics per horizon, params, artifact)')
    .argument('<model>', 'name, name@alias or name@version')
    .option('--json', 'print the version as JSON')
    .action(async (ref: string, options: { json?: boolean }) => {
      const app = await open()
      const parsed = parseModelRef(ref)
      const record = await resolveModelVersion(app.store, parsed)
      const model = await app.store.getModel(parsed.name)
      const shown = versionJson(record, model?.aliases ?? {})
      if (options.json) {
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`)
        return
      }
      process.stdout.write(
        `${record.model}@${record.version} (${record.algorithm})${shown.aliases.length ? ` aliases: ${shown.aliases.join(', ')}` : ''}\n` +
          `signature: ${JSON.stringify(record.signature)}\nsnapshot: ${record.snapshotId ?? '-'}  run: ${record.runId ?? '-'}\n` +
          `artifact: ${app.lake.localPath(record.artifactKey) ?? `${app.lake.location}/${record.artifactKey}`}\ncreated: ${shown.createdAt}\n`,
      )
      printTable([['METRIC', 'VALUE'], ...Object.entries(record.metrics).map(([k, v]) => [k, metric(v)])])
    })

  models
    .command('promote')
    .description('point an alias (champion, challenger, …) at a version')
    .argument('<model>', 'model name')
    .argument('<version>', 'version number', wholeNumber('VERSION'))
    .requiredOption('--alias <alias>', 'alias to set, e.g. champion')
    .option('--json', 'print {"model","version","alias"} as JSON')
    .action(async (name: string, version: number, options: { alias: string; json?: boolean }) => {
      const app = await open()
      await promoteModel(app, { name, version, alias: options.alias })
      if (options.json)
        process.stdout.write(`${JSON.stringify({ model: name, version, alias: options.alias })}\n`)
      else process.stdout.write(`${name}@${options.alias} is now version ${version}.\n`)
    })

  models
    .command('register-onnx')
    .description(
      'register an ONNX forecasting model trained elsewhere: input (-1, L) float32, output (-1, H)',
    )
    .argument('<file>', 'the .onnx file')
    .requiredOption('--name <name>', 'model name, e.g. lab.iaq.onnx')
    .requiredOption('--measure <name>', 'measure it forecasts')
    .requiredOption('--window <L>', 'input values per window', wholeNumber('--window'))
    .requiredOption('--horizon <H>', 'output values per window', wholeNumber('--horizon'))
    .option('--step <duration>', 'grid step: 5s, 1m, 1h, …', '1m')
    .option('--description <text>', 'free text kept with the version')
    .option('--json', 'print the version as JSON')
    .action(
      async (
        file: string,
        options: {
          name: string
          measure: string
          window: number
          horizon: number
          step: string
          description?: string
          json?: boolean
        },
      ) => {
        const app = await open()
        const record = await registerOnnx(
          { ...trainingDeps(app) },
          {
            path: file,
            name: options.name,
            description: options.description,
            signature: {
              task: 'forecast',
              measure: options.measure,
              window: options.window,
              horizon: options.horizon,
              stepMs: parseStep(options.step),
            },
          },
        )
        if (options.json) process.stdout.write(`${JSON.stringify(versionJson(record, {}), null, 2)}\n`)
        else
          process.stdout.write(
            `Registered ${record.model} version ${record.version}; promote it with \`airlake models promote ${record.model} ${record.version} --alias champion\`.\n`,
          )
      },
    )
}
