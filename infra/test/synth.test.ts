import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { lambdaBundleCode } from '../lib/paylog-stack.js';
import { INFRA_DIR, fakeBundleDir, synth, tempDir } from './support.js';

const run = promisify(execFile);

/** The environment without AWS credentials or settings: synth must need neither. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_') && !key.startsWith('CDK_')) env[key] = value;
  }
  return env;
}

describe('synthesis', () => {
  it('app.synth() needs no context lookups, no Docker and no network', () => {
    const { app } = synth();
    const assembly = app.synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
    const stack = assembly.getStackByName('PaylogTest');
    expect(stack.environment.account).toBe('unknown-account');
    expect(stack.environment.region).toBe('unknown-region');
    for (const artifact of assembly.artifacts) {
      if (!artifact.id.endsWith('.assets')) continue;
      const manifest = JSON.parse(readFileSync(join(assembly.directory, `${artifact.id}.json`), 'utf8')) as { dockerImages?: object; files?: Record<string, { source: { executable?: unknown; packaging: string } }> };
      expect(Object.keys(manifest.dockerImages ?? {})).toEqual([]);
      for (const file of Object.values(manifest.files ?? {})) expect(file.source.executable).toBeUndefined();
      // The function's code: the bundle directory zipped as it is, no bundling step.
      expect(Object.values(manifest.files ?? {}).filter((f) => f.source.packaging === 'zip')).toHaveLength(1);
    }
  });

  it('a missing bundle is a clear error naming the build command', () => {
    const empty = tempDir('empty');
    expect(() => lambdaBundleCode(empty)).toThrow(/npm run build:lambda/);
  });

  it('`cdk synth` (the CLI, with the app from cdk.json) works offline and without credentials', async () => {
    const out = tempDir('cdk-synth');
    const bundle = fakeBundleDir();
    await run('npx', ['cdk', 'synth', '--quiet', '-c', `lambdaBundleDir=${bundle}`, '-c', 'tablePrefix=paylog-ci', '-o', out], {
      cwd: INFRA_DIR,
      env: offlineEnv(),
      timeout: 90_000,
    });
    expect(existsSync(join(out, 'Paylog.template.json'))).toBe(true);
    const template = JSON.parse(readFileSync(join(out, 'Paylog.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { TableName?: string } }> };
    const tables = Object.values(template.Resources).filter((r) => r.Type === 'AWS::DynamoDB::Table').map((r) => r.Properties.TableName);
    expect(tables).toContain('paylog-ci-journal');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
    expect(manifest.missing ?? []).toEqual([]);
    // meta.json (esbuild's metadata) is left out of the function's zip.
    const asset = readFileSync(join(out, 'Paylog.assets.json'), 'utf8');
    const [dir] = Object.values((JSON.parse(asset) as { files: Record<string, { source: { path: string } }> }).files)
      .map((f) => f.source.path).filter((p) => p.startsWith('asset.'));
    expect(existsSync(join(out, dir!, 'handler.mjs'))).toBe(true);
    expect(existsSync(join(out, dir!, 'meta.json'))).toBe(false);
  });

  it('`cdk synth` without the bundle fails, saying how to build it', async () => {
    const empty = tempDir('empty');
    const result = run('npx', ['cdk', 'synth', '--quiet', '-c', `lambdaBundleDir=${empty}`, '-o', tempDir('cdk-synth')], {
      cwd: INFRA_DIR,
      env: offlineEnv(),
      timeout: 90_000,
    });
    await expect(result).rejects.toMatchObject({ stderr: expect.stringMatching(/npm run build:lambda/) });
  });
});
