/** Kaa's data collection tutorial's EPTS block, as the tutorial prints it. */
export const TUTORIAL_YAML = `kaa:
  applications:
    demo_application:
      time-series:
      - name: Temperature
        value-field: temperature
      - name: FuelLevel
        value-field: fuelLevel
      - name: Location
        value-field: timestamp
        tag-fields:
        - name: latitude
          required: true
        - name: longitude
          required: true
      versions:
        demo_application_v1:
          extraction:
            timestamp:
              path: "$.timestamp"         # JSON Path of the timestamp field in data sample
              format: millis-unix-epoch   # Timestamp format
              fallback-strategy: server-timestamp  # Take server timestamp if it is not present in data sample
            extract-all: true             # Extract all properties from data sample
`;
