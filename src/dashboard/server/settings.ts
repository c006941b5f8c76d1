import { errors } from '../../core/errors.js';
import { METADATA_KEY_PATTERN } from '../../core/names.js';
import type { JsonValue } from '../../core/types.js';
import type { Storage } from '../../storage/storage.js';
import type { FormDefinition, FormFieldType, WidgetConfig } from './model.js';

const widgetSettingKey = (applicationName: string) => `dashboard.widget.${applicationName}`;
const formSettingKey = (applicationName: string) => `dashboard.form.${applicationName}`;

const DEFAULT_WIDGET: WidgetConfig = { columns: [], pageSize: 20 };
export const PAGE_SIZES = [10, 20, 50, 100] as const;

const metadataKey = { type: 'string', pattern: METADATA_KEY_PATTERN.source, minLength: 1, maxLength: 128 } as const;
const label = { type: 'string', minLength: 1, maxLength: 100 } as const;
const seriesOrMetadataKey = { type: 'string', pattern: '^[A-Za-z0-9_~.-]+$', minLength: 1, maxLength: 128 } as const;

/** JSON Schemas for the request bodies; fastify validates with them before the handler runs. */
export const widgetSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['columns'],
  properties: {
    columns: {
      type: 'array',
      maxItems: 30,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'header'],
        // A time-series name may hold `~` (`auto~temperature`); metadata keys are checked in putWidget.
        properties: { key: seriesOrMetadataKey, header: label, source: { type: 'string', enum: ['metadata', 'time-series'] } },
      },
    },
    pageSize: { type: 'integer', enum: [...PAGE_SIZES] },
  },
} as const;

export const formSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['fields'],
  properties: {
    fields: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'label', 'type'],
        properties: {
          key: metadataKey,
          label,
          type: { type: 'string', enum: ['string', 'number', 'boolean'] },
          required: { type: 'boolean' },
        },
      },
    },
  },
} as const;

function rejectDuplicates(keys: string[], what: string): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw errors.validation(`${what} "${key}" appears twice; each metadata key can be used once`);
    seen.add(key);
  }
}

/** Reads a stored document, falling back to the default when it is missing or from an older shape. */
function asObject(value: JsonValue | undefined): Record<string, JsonValue> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

export class DashboardSettings {
  constructor(private readonly storage: Storage) {}

  async getWidget(applicationName: string): Promise<WidgetConfig> {
    const doc = asObject(await this.storage.getSetting(widgetSettingKey(applicationName)));
    if (!doc || !Array.isArray(doc.columns)) return { ...DEFAULT_WIDGET };
    const columns = doc.columns.flatMap((c) => {
      const col = asObject(c);
      if (!col || typeof col.key !== 'string' || typeof col.header !== 'string') return [];
      return [col.source === 'time-series' ? { key: col.key, header: col.header, source: 'time-series' as const } : { key: col.key, header: col.header }];
    });
    const pageSize = typeof doc.pageSize === 'number' ? doc.pageSize : DEFAULT_WIDGET.pageSize;
    return { columns, pageSize };
  }

  async putWidget(applicationName: string, input: { columns: WidgetConfig['columns']; pageSize?: number }): Promise<WidgetConfig> {
    const bad = input.columns.find((c) => c.source !== 'time-series' && !METADATA_KEY_PATTERN.test(c.key));
    if (bad) throw errors.validation(`column key "${bad.key}" is not a metadata key; use letters, digits and _ only`);
    rejectDuplicates(input.columns.map((c) => (c.source === 'time-series' ? `time series ${c.key}` : c.key)), 'Column');
    const config: WidgetConfig = {
      columns: input.columns.map((c) => ({ key: c.key, header: c.header.trim() || c.key, ...(c.source === 'time-series' ? { source: c.source } : {}) })),
      pageSize: input.pageSize ?? DEFAULT_WIDGET.pageSize,
    };
    await this.storage.putSetting(widgetSettingKey(applicationName), { columns: config.columns.map((c) => ({ ...c })), pageSize: config.pageSize });
    return config;
  }

  async getForm(applicationName: string): Promise<FormDefinition> {
    const doc = asObject(await this.storage.getSetting(formSettingKey(applicationName)));
    if (!doc || !Array.isArray(doc.fields)) return { fields: [] };
    const fields = doc.fields.flatMap((f) => {
      const field = asObject(f);
      if (!field || typeof field.key !== 'string' || typeof field.label !== 'string') return [];
      const type: FormFieldType = field.type === 'number' || field.type === 'boolean' ? field.type : 'string';
      return [{ key: field.key, label: field.label, type, required: field.required === true }];
    });
    return { fields };
  }

  async putForm(
    applicationName: string,
    input: { fields: Array<{ key: string; label: string; type: FormDefinition['fields'][number]['type']; required?: boolean }> },
  ): Promise<FormDefinition> {
    rejectDuplicates(input.fields.map((f) => f.key), 'Field key');
    const form: FormDefinition = {
      fields: input.fields.map((f) => ({ key: f.key, label: f.label.trim() || f.key, type: f.type, required: f.required === true })),
    };
    await this.storage.putSetting(formSettingKey(applicationName), { fields: form.fields.map((f) => ({ ...f })) });
    return form;
  }
}
