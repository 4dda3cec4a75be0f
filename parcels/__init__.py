"""Parcel records (AED), holds, inspections and their evidence, the audit chain, storage."""
