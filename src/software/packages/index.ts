export { PackageService, DEFAULT_PACKAGE_MAX_MB, DEFAULT_PACKAGE_URL_TTL_SECONDS, DEVICE_DOWNLOAD_PATH, presentPackage } from './service.js';
export type { DevicePackage, DownloadCredentials, PackageServiceDeps, SoftwareVersions, UploadMeta } from './service.js';
export { SECRET_SETTING } from './signing.js';
