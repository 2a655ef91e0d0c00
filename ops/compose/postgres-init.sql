CREATE DATABASE registry OWNER slotstream;
